package sandbox

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// The hash and token algorithms of spec §14, written from their description
// there. Characters are taken as bytes.

// hash33 is the ptqrtoken of a qrsig cookie (spec §14.1) and the pt4_ptcz of
// a ptcz cookie at logout.
func hash33(s string) int64 {
	var e uint64
	for i := 0; i < len(s); i++ {
		e = e*33 + uint64(s[i])
	}
	return int64(e & 0x7FFFFFFF)
}

// time33 is the pt4_auth auth_token of a supertoken cookie and the pt4_hkey
// of skey at logout (spec §14.2): unsigned 32 bits, not masked to 31.
func time33(s string) int64 {
	var e uint32
	for i := 0; i < len(s); i++ {
		e = 33*e + uint32(s[i])
	}
	return int64(e)
}

// friendsHash is the hash field of get_user_friends2 and
// get_group_name_list_mask2 (spec §14.3): ptwebqq folded into four bytes,
// interleaved with the account's QQ number XOR "ECOK".
func friendsHash(ptwebqq string, uin int64) string {
	var ptb [4]byte
	for i := 0; i < len(ptwebqq); i++ {
		ptb[i%4] ^= ptwebqq[i]
	}
	u := uint32(uin)
	ub := [4]byte{
		byte(u>>24) ^ 'E',
		byte(u>>16) ^ 'C',
		byte(u>>8) ^ 'O',
		byte(u) ^ 'K',
	}
	out := []byte{ptb[0], ub[0], ptb[1], ub[1], ptb[2], ub[2], ptb[3], ub[3]}
	return strings.ToUpper(hex.EncodeToString(out))
}

// bkn is the csrf token of every qun.qq.com call, from the skey cookie
// (spec §14.4).
func bkn(skey string) int64 {
	var r uint64 = 5381
	for i := 0; i < len(skey); i++ {
		r = r*33 + uint64(skey[i])
	}
	return int64(r & 0x7FFFFFFF)
}

// uinCookie is the uin / superuin / p_uin cookie value of a QQ number:
// "o" and the number zero-padded to ten digits.
func uinCookie(qq int64) string { return fmt.Sprintf("o%010d", qq) }
