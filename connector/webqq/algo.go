package webqq

import (
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"
)

// hash33 is the ptqrtoken of ptqrlogin (input: the qrsig cookie) and the
// pt4_ptcz of logout (input: ptcz), spec §14.1.
func hash33(s string) int64 {
	var e uint64
	for i := 0; i < len(s); i++ {
		e = e*33 + uint64(s[i])
	}
	return int64(e & 0x7FFFFFFF)
}

// time33 is the auth_token of pt4_auth (input: supertoken) and the pt4_hkey
// of logout (input: skey), spec §14.2: unsigned 32-bit, not masked.
func time33(s string) uint32 {
	var e uint32
	for i := 0; i < len(s); i++ {
		e = 33*e + uint32(s[i])
	}
	return e
}

// friendHash is the "hash" field of get_user_friends2 and
// get_group_name_list_mask2, spec §14.3.
func friendHash(ptwebqq string, uin int64) string {
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

// bkn is the csrf token of every qun.qq.com / qinfo.clt.qq.com call (input:
// the skey cookie), spec §14.4.
func bkn(skey string) int64 {
	r := uint64(5381)
	for i := 0; i < len(skey); i++ {
		r = r*33 + uint64(skey[i])
	}
	return int64(r & 0x7FFFFFFF)
}

// msgIDs hands out outgoing msg_id values: seeded from the clock as the
// original did (spec §14.5), then incremented. Values stay below 2^31; should
// the counter ever get there it starts again from 1.
type msgIDs struct{ n atomic.Int64 }

func newMsgIDs(now time.Time) *msgIDs {
	x := now.Unix() + int64(now.Nanosecond()/1e6)
	ids := &msgIDs{}
	ids.n.Store((x % 10000) * 10000)
	return ids
}

func (m *msgIDs) next() int64 {
	for {
		cur := m.n.Load()
		nxt := cur + 1
		if nxt >= 1<<31 {
			nxt = 1
		}
		if m.n.CompareAndSwap(cur, nxt) {
			return nxt
		}
	}
}
