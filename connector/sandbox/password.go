package sandbox

import (
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
)

// The ext password login's p parameter (spec §15.6), as the companion module
// Webqq::Encryption v1.7 builds it:
//
//	inner = md5(password) ‖ salt ‖ len(VCODE) as 2 bytes ‖ VCODE
//	c     = QQ-TEA(key = md5(md5(password) ‖ salt), inner)
//	p     = base64(RSA-PKCS#1 v1.5(len(c) as 2 bytes ‖ c)) with / + = as - * _
//
// The RSA layer is outermost. Tencent holds the private half of the key the
// clients carry, so the sandbox plays Tencent with a key of its own: a p
// sealed with the sandbox's public key (Server.RSAPublicKey) is opened and
// every layer checked; one sealed with Tencent's key cannot be opened and is
// refused unless Options.AcceptSealedPasswords says to trust its shape.

// errWrongPassword is every p that does not prove the password.
var errWrongPassword = errors.New("wrong password")

// sandboxKeyPEM is the sandbox's published RSA key. It guards nothing: it
// only lets the sandbox open what clients seal for it.
const sandboxKeyPEM = `-----BEGIN RSA TESTING KEY-----
MIIEowIBAAKCAQEAq/IDsJF+RaL/oOdQsDMh0bdxCzEgg9ueicV8jiIvHxL+vyjI
WI6bBxz6XRBjhS04WCHqSz8gcyWtaLn+NXeybtIugA8exuH1oNjEzLcjbAlcVr7z
3K1D6oKiTbLfQqwdJ410TQ+qYY9/2nuZnIXzLHBYjxPzk+vWYR9Ltzbtaetv2dwM
kXmQj7aPg80ZS+BkgE5nGcpiV0iqrHBHilgYiTDwvB32AjC0VZDgmndM5wPEwiqc
xCBAo3SG7CcrLgUMhxydppRcafNmKRGmXVmIrSQblKnY1KpGU6kM27rA6l/5hmMK
IZMBog3fhsybXEgDNvd+c5eRswT5BifDlseUSwIDAQABAoIBAAP3UB3O1/0ei7ZC
v6S2I+M6JPxfb2Ll5PFD7IyRaJ7XNFMPy2ySKtdDftmOBY2j2QyHXmfKlqKxTXUA
nUbPHP7bZZaEmBl5oCMhUjYan1GK9xCf1PDTz6DledLq+6Vbt6HFlyzT3gKOvyHj
VKFnTDr2gxnBxGOMFA98xk/9OgVbDt/bOCoED18uBkMwQPs61XjdMp4Dmlj1/gt2
r02mPWY+AjlIQSY87XVAoVfcEsxzzGEU+jXWGreRSb8NA30+s5e1+JCj9jx/sWdl
uXhVnn6OevA1/R49iT4tZkKptKMKSLxzo15GKofYlkcXo7nB30KQgbE09D5dhqEd
A5M1WxkCgYEAz7yEuo+AeLif1rm9nHigNLUZb9dIhalu+WeYQ1i3LdxBAyhtgS4/
Nk+TPBR5Meqe1z1RACYXohhevOQGux68mrLZ0iNV7HLWZ7M6cawqr8ctCyoHm71V
HvIfxMtb4KAtw9PgkkDVhCIEBOouK0/zLBzxqyj8Q0wUAWpPR48AGO8CgYEA0+TD
MUiNxdWcQ4HGEvTQLyrjikaXQHGBHyfuTA3qsDmKhYwLRHraOt/CYeLWpf1Aty2T
HOcjrY7dy1RDAagPdTPnhnvfZY6Ug8eO6oHOdb4dpgEkL9fUI/xwUCAurHSadDtk
v+w4z0s864tqa/kX/ACaeIMdzGaHWbklpdJyImUCgYAERqggwvVtBrfbjqU1hFIf
455ra+4FOlCbd6Ntt3TFz+PSsdFXOGF6t7abJPy9p0uvuIZjT2VrI79HehYdYeuV
75qGNc39+Psq1UidsGKMjbgCo9HWRdZrtaYrwdfZTtLCVikoOYdrmdulUkCzCYlC
3jGnSUewBu/ee5a4LVxeJwKBgQDS18LSe1t3C8Ld+XfazPeKt6aKpQtD+K1/DwCz
dPWePON1V5Cup4AXLSgCtvDXYlTO8O59yBFcVdikxkeWkmAvQ2KSExiLuYBWUHAJ
MPj7eB2QXXpgkOZqmHo5gIxw1eYK2j66KpeszTTlPGi837PZ8c/DMtSn2y27PdwU
UH95cQKBgE3EFA+OOfd0jewQvjc8qgnyxqtOd88N+idmdhCfzZa8dzbS4h30bcGS
YLSDICpYYxomO8976nE4npZ8MW3z7MIqhFccpJURSgjrpDMFQGgUdIOofPypzPz0
woM73Se1/s89Vlx7x/PDOAuYGp2qZUTD88rzlglJtnwS8WjX8tar
-----END RSA TESTING KEY-----`

var builtinKey = sync.OnceValue(func() *rsa.PrivateKey {
	b, _ := pem.Decode([]byte(sandboxKeyPEM))
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		panic("sandbox: built-in key: " + err.Error())
	}
	return k
})

// tencentModulus is the public RSA modulus (e = 65537) that clients seal p
// with; the sandbox only checks that a sealed p is below it.
var tencentModulus, _ = new(big.Int).SetString("E9A815AB9D6E86ABBF33A4AC64E9196D5BE44A09BD0ED6AE052914E1A865AC83"+
	"31FED863DE8EA697E9A7F63329E5E23CDA09C72570F46775B7E39EA9670086F847D3C9C51963B131409B1E04265D974741"+
	"9C635404CA651BBCBC87F99B8008F7F5824653E3658BE4BA73E4480156B390BB73BC1F8B33578E7A4E12440E9396F2552C"+
	"1AFF1C92E797EBACDC37C109AB7BCE2367A19C56A033EE04534723CC2558CB27368F5B9D32C04D12DBD86BBD68B1D99B7C"+
	"349A8453EA75D1B2E94491AB30ACF6C46A36A75B721B312BEDF4E7AAD21E54E9BCBCF8144C79B6E3C05EB4A1547750D224"+
	"C0085D80E6DA3907C3D945051C13C7C1DCEFD6520EE8379C4F5231ED", 16)

// decodeP undoes the base64 variant of p.
func decodeP(p string) ([]byte, error) {
	std := strings.NewReplacer("-", "/", "*", "+", "_", "=").Replace(p)
	return base64.StdEncoding.DecodeString(std)
}

// checkPassword verifies p for password, the salt and verify code that
// /check gave out.
func checkPassword(p, password string, salt [8]byte, vcode string, key *rsa.PrivateKey, acceptSealed bool) error {
	blob, err := decodeP(p)
	if err != nil || len(blob) == 0 {
		return errWrongPassword
	}
	payload, ok := rsaOpen(key, blob)
	if !ok {
		if acceptSealed && len(blob) == 256 && new(big.Int).SetBytes(blob).Cmp(tencentModulus) < 0 {
			return nil
		}
		return errWrongPassword
	}
	return checkPayload(payload, password, salt, vcode)
}

// checkPayload verifies what the RSA layer sealed: len(c) ‖ c, with c the
// QQ-TEA encryption of md5(password) ‖ salt ‖ len(VCODE) ‖ VCODE.
func checkPayload(payload []byte, password string, salt [8]byte, vcode string) error {
	if password == "" || len(payload) < 2 || int(binary.BigEndian.Uint16(payload)) != len(payload)-2 {
		return errWrongPassword
	}
	pwMD5 := md5.Sum([]byte(password))
	teaKey := md5.Sum(append(pwMD5[:], salt[:]...))
	inner, ok := teaDecrypt(teaKey, payload[2:])
	if !ok {
		return errWrongPassword
	}
	want := append(append(pwMD5[:], salt[:]...), byte(len(vcode)>>8), byte(len(vcode)))
	want = append(want, strings.ToUpper(vcode)...)
	if !bytes.Equal(inner, want) {
		return errWrongPassword
	}
	return nil
}

// rsaOpen undoes RSA with PKCS#1 v1.5 type 2 padding. It is the textbook
// computation, not constant-time: the key protects nothing.
func rsaOpen(key *rsa.PrivateKey, blob []byte) ([]byte, bool) {
	k := key.Size()
	c := new(big.Int).SetBytes(blob)
	if len(blob) != k || c.Cmp(key.N) >= 0 {
		return nil, false
	}
	em := new(big.Int).Exp(c, key.D, key.N).FillBytes(make([]byte, k))
	if em[0] != 0 || em[1] != 2 {
		return nil, false
	}
	sep := bytes.IndexByte(em[2:], 0)
	if sep < 8 { // at least 8 bytes of non-zero padding
		return nil, false
	}
	return em[2+sep+1:], true
}

// QQ's TEA: 16 rounds on big-endian words, chained so that
// C[i] = E(P[i] ^ C[i-1]) ^ (P[i-1] ^ C[i-2]); the plaintext carries a
// header byte whose low 3 bits count random fill bytes, 2 more random bytes,
// the data and 7 zero bytes.

const teaDelta = 0x9E3779B9

func teaKeyWords(key [16]byte) [4]uint32 {
	var k [4]uint32
	for i := range k {
		k[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	return k
}

func teaBlockDecrypt(k [4]uint32, in [8]byte) [8]byte {
	v0, v1 := binary.BigEndian.Uint32(in[:4]), binary.BigEndian.Uint32(in[4:])
	sum := uint32(teaDelta * 16 & 0xFFFFFFFF)
	for range 16 {
		v1 -= ((v0 << 4) + k[2]) ^ (v0 + sum) ^ ((v0 >> 5) + k[3])
		v0 -= ((v1 << 4) + k[0]) ^ (v1 + sum) ^ ((v1 >> 5) + k[1])
		sum -= teaDelta
	}
	var out [8]byte
	binary.BigEndian.PutUint32(out[:4], v0)
	binary.BigEndian.PutUint32(out[4:], v1)
	return out
}

// teaDecrypt returns the data of a QQ-TEA ciphertext, or false when the
// length, the padding or the zero tail is wrong (a wrong key, in practice).
func teaDecrypt(key [16]byte, c []byte) ([]byte, bool) {
	if len(c)%8 != 0 || len(c) < 16 {
		return nil, false
	}
	k := teaKeyWords(key)
	var prevX, prevC [8]byte
	plain := make([]byte, 0, len(c))
	for i := 0; i < len(c); i += 8 {
		var in [8]byte
		for j := range in {
			in[j] = c[i+j] ^ prevX[j]
		}
		x := teaBlockDecrypt(k, in)
		for j := range x {
			plain = append(plain, x[j]^prevC[j])
		}
		prevX = x
		copy(prevC[:], c[i:i+8])
	}
	start, end := 1+int(plain[0]&7)+2, len(plain)-7
	if start > end {
		return nil, false
	}
	for _, b := range plain[end:] {
		if b != 0 {
			return nil, false
		}
	}
	return plain[start:end], true
}
