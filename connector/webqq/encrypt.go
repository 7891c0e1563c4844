package webqq

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// ptloginKeyHex is the RSA modulus ptlogin's login page encrypts passwords
// with (public exponent 65537).
const ptloginKeyHex = "E9A815AB9D6E86ABBF33A4AC64E9196D5BE44A09BD0ED6AE052914E1A865AC83" +
	"31FED863DE8EA697E9A7F63329E5E23CDA09C72570F46775B7E39EA9670086F8" +
	"47D3C9C51963B131409B1E04265D9747419C635404CA651BBCBC87F99B8008F7" +
	"F5824653E3658BE4BA73E4480156B390BB73BC1F8B33578E7A4E12440E9396F2" +
	"552C1AFF1C92E797EBACDC37C109AB7BCE2367A19C56A033EE04534723CC2558" +
	"CB27368F5B9D32C04D12DBD86BBD68B1D99B7C349A8453EA75D1B2E94491AB30" +
	"ACF6C46A36A75B721B312BEDF4E7AAD21E54E9BCBCF8144C79B6E3C05EB4A154" +
	"7750D224C0085D80E6DA3907C3D945051C13C7C1DCEFD6520EE8379C4F5231ED"

// PtloginKey returns ptlogin's password-encryption public key, the default
// of Options.PasswordKey.
func PtloginKey() *rsa.PublicKey {
	n, _ := new(big.Int).SetString(ptloginKeyHex, 16)
	return &rsa.PublicKey{N: n, E: 65537}
}

// passwordMD5 is the MD5 hex form of the password the ext login needs: a
// value of 32 hex digits is taken to be that MD5 already (the original's
// pwd option), anything else is the plain password.
func passwordMD5(pw string) string {
	if len(pw) == 32 {
		if _, err := hex.DecodeString(pw); err == nil {
			return strings.ToLower(pw)
		}
	}
	sum := md5.Sum([]byte(pw))
	return hex.EncodeToString(sum[:])
}

// encryptPassword computes the "p" parameter of ptlogin's login call
// (spec §17.1): the password MD5, the salt and the verify code are framed,
// TEA-encrypted under MD5(password MD5 ‖ salt), length-prefixed,
// RSA-encrypted (PKCS #1 v1.5) under key, and written in base64 with the
// characters / + = replaced by - * _.
func encryptPassword(pwMD5, salt, verifyCode string, key *rsa.PublicKey, rnd io.Reader) (string, error) {
	pw, err := hex.DecodeString(pwMD5)
	if err != nil || len(pw) != md5.Size {
		return "", fmt.Errorf("webqq: encrypt password: not an md5 hex digest")
	}
	vc := []byte(strings.ToUpper(verifyCode))
	if len(vc) > 0xFFFF {
		return "", fmt.Errorf("webqq: encrypt password: verify code too long")
	}
	teaKey := md5.Sum(append(append([]byte{}, pw...), salt...))

	plain := make([]byte, 0, len(pw)+len(salt)+2+len(vc))
	plain = append(plain, pw...)
	plain = append(plain, salt...)
	plain = binary.BigEndian.AppendUint16(plain, uint16(len(vc)))
	plain = append(plain, vc...)
	sealed, err := teaSeal(teaKey, plain, rnd)
	if err != nil {
		return "", fmt.Errorf("webqq: encrypt password: %w", err)
	}
	if len(sealed) > 0xFFFF {
		return "", fmt.Errorf("webqq: encrypt password: input too long")
	}
	msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(sealed)), uint16(len(sealed)))
	msg = append(msg, sealed...)
	enc, err := rsa.EncryptPKCS1v15(rnd, key, msg)
	if err != nil {
		return "", fmt.Errorf("webqq: encrypt password: rsa: %w", err)
	}
	return strings.NewReplacer("/", "-", "+", "*", "=", "_").
		Replace(base64.StdEncoding.EncodeToString(enc)), nil
}

// teaSeal is QQ's TEA mode: the plaintext is framed as one byte holding
// the pad length in its low 3 bits, 2+pad random bytes, the data and seven
// zero bytes (a multiple of 8 in all), and each 8-byte block p is encrypted
// as c = TEA(p ⊕ c_prev) ⊕ (p ⊕ c_prev)_prev.
func teaSeal(key [16]byte, data []byte, rnd io.Reader) ([]byte, error) {
	pad := (len(data) + 10) % 8
	if pad != 0 {
		pad = 8 - pad
	}
	buf := make([]byte, 1+2+pad+len(data)+7)
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, buf[:3+pad]); err != nil {
		return nil, fmt.Errorf("tea: random: %w", err)
	}
	buf[0] = buf[0]&0xF8 | byte(pad)
	copy(buf[3+pad:], data)

	var k [4]uint32
	for i := range k {
		k[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	out := make([]byte, len(buf))
	var prePlain, preCrypt [8]byte
	for i := 0; i < len(buf); i += 8 {
		var p [8]byte
		for j := range p {
			p[j] = buf[i+j] ^ preCrypt[j]
		}
		c := teaBlock(k, p)
		for j := range c {
			c[j] ^= prePlain[j]
		}
		copy(out[i:], c[:])
		preCrypt, prePlain = c, p
	}
	return out, nil
}

// teaBlock encrypts one block with the 16-round TEA QQ uses.
func teaBlock(k [4]uint32, b [8]byte) [8]byte {
	y := binary.BigEndian.Uint32(b[:4])
	z := binary.BigEndian.Uint32(b[4:])
	var sum uint32
	for range 16 {
		sum += 0x9E3779B9
		y += (z<<4 + k[0]) ^ (z + sum) ^ (z>>5 + k[1])
		z += (y<<4 + k[2]) ^ (y + sum) ^ (y>>5 + k[3])
	}
	var out [8]byte
	binary.BigEndian.PutUint32(out[:4], y)
	binary.BigEndian.PutUint32(out[4:], z)
	return out
}
