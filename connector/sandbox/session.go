package sandbox

import (
	"encoding/hex"
	"net/http"
)

// account is the ptlogin side of the one QQ account the sandbox serves: the
// QR code on display, the login tickets and which cookies are still valid.
// Values are sets because a client on 127.0.0.1 keeps one cookie per name
// while the real service had one per domain, so the SmartQQ and qun.qq.com
// logins each leave a valid skey behind.
type account struct {
	loginSigs   map[string]bool // pt_login_sig values from xlogin
	qr          *qrCode         // the QR code shown last
	preScan     bool            // ScanQR with no QR on display: applies to the next one
	preConfirm  bool
	supertokens map[string]bool // ptlogin sessions pt4_auth can resume
	skeys       map[string]bool
	pskeys      map[string]bool // p_skey → true when issued for qun.qq.com
	tickets     map[string]bool // unused check_sig ptsigx → true for qun.qq.com, false for SmartQQ
	ptwebqq     string          // of the current login; empty, as in 2018 (spec §14.3)
	vfwebqq     string
	check       *extCheck // the last ext /check
}

func newAccount() account {
	return account{
		loginSigs:   map[string]bool{},
		supertokens: map[string]bool{},
		skeys:       map[string]bool{},
		pskeys:      map[string]bool{},
		tickets:     map[string]bool{},
	}
}

type qrCode struct {
	sig              string
	polls            int // ptqrlogin polls answered so far
	polls66, polls67 int
	scanned          bool
	confirmed        bool
	expired          bool
	used             bool
}

// extCheck is what /check told the client for the ext password login.
type extCheck struct {
	uin     int64
	salt    [8]byte
	vcode   string
	session string
}

// session is the SmartQQ channel session that login2 opens.
type session struct {
	psessionid string
	status     string
	dead       int    // retcode every call answers once the session is gone; 0 = alive
	relink     bool   // poll2 answers 121 until a login2 with key re-links
	kick       string // reason of a pending kick_message
	kicking    bool
	pollSeq    uint64             // the newest poll2; an older held one gives way
	sigs       map[string]sessSig // get_c2cmsg_sig2 values handed out
}

// token helpers draw from the server's seeded rng; the caller holds mu.

func (s *Server) hexToken(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (s *Server) alnumToken(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokenAlphabet[s.rng.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

// qrsigs look like the real ones: base64-ish with * and - in place of + and /.
func (s *Server) qrsigToken() string {
	const alphabet = tokenAlphabet + "*-"
	b := make([]byte, 64)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *Server) digitToken(n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + s.rng.IntN(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + s.rng.IntN(10))
	}
	return string(b)
}

// psessionPrefix is the constant head of real psessionids (the hex of a
// connserver name); the tail varies per session.
const psessionPrefix = "8368046764001d636f6e6e7365727665725f77656271714031302e3133332e34312e3834"

func (s *Server) newPsessionid() string { return psessionPrefix + s.hexToken(48) }

// cookiesOK checks the login cookies a SmartQQ call carries.
func (s *Server) cookiesOK(r *http.Request) bool {
	_, ok := s.acct.pskeys[cookie(r, "p_skey")]
	return ok && cookie(r, "uin") == uinCookie(s.m.self.uid) && s.acct.skeys[cookie(r, "skey")]
}

// extCookiesOK checks the cookies of a qun.qq.com call: p_skey must come
// from the qun.qq.com login (spec §17.1), which a QR login alone never gives.
func (s *Server) extCookiesOK(r *http.Request) bool {
	return s.acct.pskeys[cookie(r, "p_skey")] && cookie(r, "uin") == uinCookie(s.m.self.uid) &&
		s.acct.skeys[cookie(r, "skey")]
}

// endLoginLocked forgets every ptlogin session and kills the channel session
// with rc: cookies, pt4_auth and check_sig no longer work.
func (s *Server) endLoginLocked(rc int) {
	clear(s.acct.supertokens)
	clear(s.acct.skeys)
	clear(s.acct.pskeys)
	clear(s.acct.tickets)
	s.acct.vfwebqq = ""
	if s.sess != nil && s.sess.dead == 0 {
		s.sess.dead = rc
	}
	s.notifyLocked()
}
