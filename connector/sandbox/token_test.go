package sandbox

import (
	"crypto/rsa"
	"encoding/hex"
	"testing"
)

// Vectors of spec §14.
func TestTokenVectors(t *testing.T) {
	for _, c := range []struct {
		name string
		got  int64
		want int64
	}{
		{"hash33 abc", hash33("abc"), 108966},
		{"hash33 qrsig", hash33("qrsig_example_0123456789"), 690569949},
		{"time33", time33("@AbCdEfGh1"), 457966101},
		{"time33 empty", time33(""), 0},
		{"bkn", bkn("@AbCdEfGh1"), 1358553434},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestFriendsHashVectors(t *testing.T) {
	for _, c := range []struct {
		ptwebqq string
		uin     int64
		want    string
	}{
		{"", 123456789, "004200180082005E"},
		{"abcdef", 123456789, "044204186382645E"},
		{"", 0, "00450043004F004B"},
		{"", 2372961723, "00C8003300CA00F0"}, // the 2018 log of spec §14.3
	} {
		if got := friendsHash(c.ptwebqq, c.uin); got != c.want {
			t.Errorf("hash(%q, %d) = %s, want %s", c.ptwebqq, c.uin, got, c.want)
		}
	}
}

func TestUinCookie(t *testing.T) {
	if got := uinCookie(949417747); got != "o0949417747" {
		t.Errorf("uinCookie = %s", got)
	}
	if got := uinCookie(2372961723); got != "o2372961723" {
		t.Errorf("uinCookie = %s", got)
	}
}

// perlTEAVector was made by the reference module's pure-Perl QQ-TEA
// (Webqq::Encryption::TEA::Perl::encrypt("hello, tea world!", key)), an
// implementation independent of this package's.
const perlTEAVector = "b144847e07d116c55abf2cb7410f996a7d54138703ef38295adefa01eb70d24f"

func TestTEADecryptsReferenceVector(t *testing.T) {
	var key [16]byte
	hex.Decode(key[:], []byte("0123456789abcdeffedcba9876543210"))
	c, _ := hex.DecodeString(perlTEAVector)
	plain, ok := teaDecrypt(key, c)
	if !ok || string(plain) != "hello, tea world!" {
		t.Fatalf("teaDecrypt = %q, %v", plain, ok)
	}
	key[0] ^= 1
	if _, ok := teaDecrypt(key, c); ok {
		t.Fatal("a wrong key decrypted")
	}
}

func TestTEARoundTrip(t *testing.T) {
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for n := range 40 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		got, ok := teaDecrypt(key, teaEncrypt(key, data))
		if !ok || string(got) != string(data) {
			t.Fatalf("round trip of %d bytes: %x, %v", n, got, ok)
		}
	}
}

// perlPasswordP is pwd_encrypt("sandbox-secret", salt, "!abc", 0) of the
// reference module (v1.7) with its RSA step replaced by the identity, so p
// is base64(len(c) ‖ c): the payload the RSA layer seals.
const perlPasswordP = "ACgJXUd9SypXjvwFNDG7Iof4gCDRZ-PaB9pK9cH8GwwvSrtFN5opOtXO"

var perlSalt = [8]byte{0, 0, 0, 0, 0x8d, 0x6a, 0x7f, 0x13}

func TestPasswordPayloadFromReference(t *testing.T) {
	payload, err := decodeP(perlPasswordP)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPayload(payload, "sandbox-secret", perlSalt, "!abc"); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	for _, c := range []struct {
		name, password, vcode string
		salt                  [8]byte
	}{
		{"wrong password", "sandbox-secreT", "!abc", perlSalt},
		{"empty password", "", "!abc", perlSalt},
		{"wrong salt", "sandbox-secret", "!abc", [8]byte{1}},
		{"wrong verify code", "sandbox-secret", "!abd", perlSalt},
	} {
		if err := checkPayload(payload, c.password, c.salt, c.vcode); err == nil {
			t.Errorf("%s accepted", c.name)
		}
	}
	// Sealed with the sandbox key, the same payload passes the whole check.
	key := builtinKey()
	p := encodeP(rsaSeal(t, &key.PublicKey, payload))
	if err := checkPassword(p, "sandbox-secret", perlSalt, "!abc", key, false); err != nil {
		t.Fatalf("sealed reference payload refused: %v", err)
	}
}

func TestCheckPasswordSealedWithOtherKey(t *testing.T) {
	p := sealPassword(t, tencentKey(), "pw", perlSalt, "!ABC")
	if err := checkPassword(p, "pw", perlSalt, "!ABC", builtinKey(), false); err == nil {
		t.Fatal("a p sealed with Tencent's key was accepted without AcceptSealedPasswords")
	}
	if err := checkPassword(p, "other", perlSalt, "!ABC", builtinKey(), true); err != nil {
		t.Fatalf("AcceptSealedPasswords refused a well-formed sealed p: %v", err)
	}
	if err := checkPassword("AAAA", "pw", perlSalt, "!ABC", builtinKey(), true); err == nil {
		t.Fatal("a short p was accepted")
	}
}

func tencentKey() *rsa.PublicKey { return &rsa.PublicKey{N: tencentModulus, E: 65537} }
