package sandbox

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
)

// The ext password login to qun.qq.com (spec §17.1), also the primary
// login of password mode (spec §15.6).

// ptCheck answers ptui_checkVC('0', verifycode, salt, verifysession, '0'):
// no captcha, the salt being the uin as 8 bytes written as \xNN escapes.
func (s *Server) ptCheck(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refExtLogin) {
		forbidden(w)
		return
	}
	uin, okUin := queryInt(r, "uin")
	appid, _ := queryInt(r, "appid")
	s.mu.Lock()
	if !okUin || uin <= 0 || appid != extAppID || !s.acct.loginSigs[r.FormValue("login_sig")] {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
		fmt.Fprint(w, "ptui_checkVC('1','','\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00','','0');\r\n")
		return
	}
	c := &extCheck{uin: uin, session: s.alnumToken(8) + s.hexToken(40)}
	binary.BigEndian.PutUint64(c.salt[:], uint64(uin))
	c.vcode = "!" + strings.ToUpper(s.alnumToken(3))
	s.acct.check = c
	s.mu.Unlock()
	setCookie(w, r, "ptvfsession", c.session, "ptlogin2.qq.com")
	var salt strings.Builder
	for _, b := range c.salt {
		fmt.Fprintf(&salt, "\\x%02x", b)
	}
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	fmt.Fprintf(w, "ptui_checkVC('0','%s','%s','%s','0');\r\n", c.vcode, salt.String(), c.session)
}

// ptLogin checks the encrypted password p against the last /check and
// answers ptuiCB: 0 with a qun.qq.com check_sig URL, 3 for a wrong account
// or password, 4 for a wrong verify code, 7 for a malformed request.
func (s *Server) ptLogin(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refExtLogin) {
		forbidden(w)
		return
	}
	u, _ := queryInt(r, "u")
	aid, _ := queryInt(r, "aid")
	daid, _ := queryInt(r, "daid")
	s.mu.Lock()
	c := s.acct.check
	key, accept, password := s.rsaKey, s.opts.AcceptSealedPasswords, s.opts.Password
	sigOK := s.acct.loginSigs[r.FormValue("login_sig")]
	s.mu.Unlock()
	switch {
	case c == nil || aid != extAppID || daid != extDaID || !sigOK || r.FormValue("pt_verifysession_v1") != c.session:
		ptuiCB(w, "7", "", "提交参数错误，请检查。", "")
		return
	case !strings.EqualFold(r.FormValue("verifycode"), c.vcode):
		ptuiCB(w, "4", "", "您输入的验证码不正确，请重新输入。", "")
		return
	}
	// RSA with a 2048-bit key is the slow part: do it without the lock.
	err := checkPassword(r.FormValue("p"), password, c.salt, c.vcode, key, accept)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || u != c.uin || u != s.m.self.uid || s.acct.check != c {
		ptuiCB(w, "3", "", "您输入的帐号或密码不正确，请重新输入。", "")
		return
	}
	s.acct.check = nil
	s.ptloginCookiesLocked(w, r)
	url := s.checkSigURL(r, true, "login", "&s_url=http%3A%2F%2Fqun.qq.com%2F&f_url=&ptlang=2052&ptredirect=101&aid=715030901&daid=73&j_later=0&low_login_hour=0&regmaster=0&pt_login_type=1&pt_aid=0&pt_aaid=0&pt_light=0&pt_3rd_aid=0")
	ptuiCB(w, "0", url, "登录成功！", s.m.self.nick)
	s.log.Info("password login", "uid", u)
}

// RSAPublicKey is the key a client must seal the ext login's password with
// for the sandbox to check it (spec §15.6; the real service's key is
// Tencent's).
func (s *Server) RSAPublicKey() *rsa.PublicKey { return &s.rsaKey.PublicKey }
