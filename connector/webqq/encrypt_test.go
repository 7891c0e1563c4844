package webqq

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestTeaBlock(t *testing.T) {
	// Vectors of the 16-round TEA of QQ, computed with the reference
	// implementation the original used.
	for _, tc := range []struct{ key, in, want string }{
		{"00112233445566778899aabbccddeeff", "0011223344556677", "1ccdc0096ef0d373"},
		{"00000000000000000000000000000000", "0000000000000000", "a889f798182d8083"},
		{"0123456789abcdeffedcba9876543210", "ffffffffffffffff", "bec876c79e46824f"},
	} {
		key, _ := hex.DecodeString(tc.key)
		in, _ := hex.DecodeString(tc.in)
		var k [4]uint32
		for i := range k {
			k[i] = binary.BigEndian.Uint32(key[4*i:])
		}
		out := teaBlock(k, [8]byte(in))
		if got := hex.EncodeToString(out[:]); got != tc.want {
			t.Errorf("teaBlock(%s, %s) = %s, want %s", tc.key, tc.in, got, tc.want)
		}
	}
}

// zeroReader stands in for the random padding, as Math.random()=0 did when
// the vectors below were taken from ptlogin's own script.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTeaSealMatchesPtlogin(t *testing.T) {
	for _, tc := range []struct{ md5, salt, vc, want string }{
		{"2954c637de599a43c8584205923f68b1", "\x00\x00\x00\x00\xb7\x23\xc2\x72", "netx",
			"589fae4971af072d71695cdb3473d6f884509cfe13da1dc75c274c0fb8be7336f898d2149943dca7"},
		{"e10adc3949ba59abbe56e057f20f883e", "\x00\x00\x00\x00\x07\x5b\xcd\x15", "!qwe",
			"6efd4fd360e39ce4eb375a2279a5f38842734c135d29c8f4ff4d17d5a5e959ae30fab5d7025e37f0"},
	} {
		pw, _ := hex.DecodeString(tc.md5)
		key := md5.Sum(append(append([]byte{}, pw...), tc.salt...))
		plain := append(append(append([]byte{}, pw...), tc.salt...), 0, byte(len(tc.vc)))
		plain = append(plain, strings.ToUpper(tc.vc)...)
		got, err := teaSeal(key, plain, zeroReader{})
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("teaSeal = %x\nwant      %s", got, tc.want)
		}
	}
}

// teaOpen inverts teaSeal (QQ's TEA mode), for the round trip below.
func teaOpen(key [16]byte, data []byte) ([]byte, error) {
	var k [4]uint32
	for i := range k {
		k[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	decrypt := func(b [8]byte) [8]byte {
		y, z := binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:])
		sum := uint32(0xE3779B90)
		for range 16 {
			z -= (y<<4 + k[2]) ^ (y + sum) ^ (y>>5 + k[3])
			y -= (z<<4 + k[0]) ^ (z + sum) ^ (z>>5 + k[1])
			sum -= 0x9E3779B9
		}
		var out [8]byte
		binary.BigEndian.PutUint32(out[:4], y)
		binary.BigEndian.PutUint32(out[4:], z)
		return out
	}
	if len(data)%8 != 0 || len(data) < 16 {
		return nil, fmt.Errorf("sealed length %d", len(data))
	}
	plain := make([]byte, len(data))
	var prePlain, preCrypt [8]byte
	for i := 0; i < len(data); i += 8 {
		var c [8]byte
		copy(c[:], data[i:])
		var x [8]byte
		for j := range x {
			x[j] = c[j] ^ prePlain[j]
		}
		p := decrypt(x)
		for j := range p {
			plain[i+j] = p[j] ^ preCrypt[j]
		}
		prePlain, preCrypt = p, c
	}
	pad := int(plain[0] & 7)
	if !bytes.Equal(plain[len(plain)-7:], make([]byte, 7)) || 3+pad > len(plain)-7 {
		return nil, fmt.Errorf("bad padding %x", plain)
	}
	return plain[3+pad : len(plain)-7], nil
}

func TestEncryptPasswordRoundTrip(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pwMD5 := passwordMD5("hunter2")
	salt := "\x00\x00\x00\x00\x12\x34\x56\x78"
	p, err := encryptPassword(pwMD5, salt, "!abc", &priv.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(p, "/+=") {
		t.Errorf("p %q keeps base64 characters that should be replaced", p)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "/", "*", "+", "_", "=").Replace(p))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := rsa.DecryptPKCS1v15(nil, priv, raw)
	if err != nil {
		t.Fatal(err)
	}
	if n := int(binary.BigEndian.Uint16(msg)); n != len(msg)-2 {
		t.Fatalf("length prefix %d, sealed part %d bytes", n, len(msg)-2)
	}
	pw, _ := hex.DecodeString(pwMD5)
	key := md5.Sum(append(append([]byte{}, pw...), salt...))
	plain, err := teaOpen(key, msg[2:])
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, pw...), salt...), 0, 4)
	want = append(want, "!ABC"...)
	if !bytes.Equal(plain, want) {
		t.Errorf("plaintext %x, want %x", plain, want)
	}
}

func TestPasswordMD5(t *testing.T) {
	sum := md5.Sum([]byte("hunter2"))
	hexSum := hex.EncodeToString(sum[:])
	for _, tc := range []struct{ in, want string }{
		{"hunter2", hexSum},
		{strings.ToUpper(hexSum), hexSum},                     // already an MD5
		{hexSum[:31] + "g", passwordMD5Of(hexSum[:31] + "g")}, // 32 chars, not hex
	} {
		if got := passwordMD5(tc.in); got != tc.want {
			t.Errorf("passwordMD5(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func passwordMD5Of(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestPtloginKey(t *testing.T) {
	k := PtloginKey()
	if k.E != 65537 || k.N.BitLen() != 2048 {
		t.Errorf("key: e=%d, %d bits", k.E, k.N.BitLen())
	}
}
