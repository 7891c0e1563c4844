package sandbox

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
)

// The ptlogin hosts (xui.ptlogin2.qq.com, ssl.ptlogin2.qq.com,
// ptlogin2.qq.com, ptlogin4.web2.qq.com) and w.qq.com: spec §15.

func (s *Server) loginRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /proxy.html", s.page)
	mux.HandleFunc("GET /cgi-bin/xlogin", s.xlogin)
	mux.HandleFunc("GET /ptqrshow", s.ptqrshow)
	mux.HandleFunc("GET /ptqrlogin", s.ptqrlogin)
	mux.HandleFunc("GET /pt4_auth", s.pt4Auth)
	mux.HandleFunc("GET /check_sig", s.checkSig)
	mux.HandleFunc("GET /logout", s.logout)
	mux.HandleFunc("GET /check", s.ptCheck)
	mux.HandleFunc("GET /login", s.ptLogin)
}

// page stands for w.qq.com/, the proxy.html pages and qun.qq.com/: clients
// only need a 200 from them.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>SmartQQ</title></head><body>SmartQQ sandbox</body></html>\n")
}

// xlogin is the login frame; its only effect that matters is the
// pt_login_sig cookie (spec §15.0b, §17.1 step 1).
func (s *Server) xlogin(w http.ResponseWriter, r *http.Request) {
	appid, _ := queryInt(r, "appid")
	switch {
	case appid == appID && refererIs(r, refW):
	case appid == extAppID && refererIs(r, refQunRoot):
	default:
		forbidden(w)
		return
	}
	s.mu.Lock()
	sig := s.alnumToken(64)
	s.acct.loginSigs[sig] = true
	local, uikey := s.digitToken(10), s.hexToken(32)
	s.mu.Unlock()
	setCookie(w, r, "pt_login_sig", sig, "ptlogin2.qq.com")
	setCookie(w, r, "pt_clientip", "7f000001", "ptlogin2.qq.com")
	setCookie(w, r, "pt_serverip", "c4660abf2b8c6e39", "ptlogin2.qq.com")
	setCookie(w, r, "pt_local_token", local, "ptlogin2.qq.com")
	setCookie(w, r, "uikey", uikey, "ptlogin2.qq.com")
	s.page(w, r)
}

// ptqrshow shows a new QR code and sets its qrsig cookie (spec §15.2g).
func (s *Server) ptqrshow(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refXLogin) {
		forbidden(w)
		return
	}
	if a, _ := queryInt(r, "appid"); a != appID {
		forbidden(w)
		return
	}
	s.mu.Lock()
	q := &qrCode{sig: s.qrsigToken(), scanned: s.acct.preScan || s.acct.preConfirm, confirmed: s.acct.preConfirm}
	s.acct.preScan, s.acct.preConfirm = false, false
	s.acct.qr = q
	s.mu.Unlock()
	setCookie(w, r, "qrsig", q.sig, "ptlogin2.qq.com")
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(qrPNG(q.sig))
}

// ptqrlogin reports the QR code's state (spec §15.2h): 66, 67, 65 or 0.
func (s *Server) ptqrlogin(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refXLogin) {
		forbidden(w)
		return
	}
	qrsig := cookie(r, "qrsig")
	token, _ := queryInt(r, "ptqrtoken")
	aid, _ := queryInt(r, "aid")
	daid, _ := queryInt(r, "daid")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case aid != appID || daid != daID || !s.acct.loginSigs[r.FormValue("login_sig")]:
		ptuiCB(w, "7", "", "提交参数错误，请检查。", "")
		return
	case qrsig == "" || token != hash33(qrsig):
		// [SIM] spec §23: a bad ptqrtoken is neither 65, 66, 67 nor 0.
		ptuiCB(w, "7", "", "提交参数错误，请检查。", "")
		return
	}
	q := s.acct.qr
	if q == nil || q.sig != qrsig || q.used || q.expired {
		ptuiCB(w, "65", "", "二维码已失效。", "")
		return
	}
	q.polls++
	o := s.opts
	if !q.scanned && o.AutoScanAfter > 0 && q.polls66 >= o.AutoScanAfter {
		q.scanned = true
	}
	if q.scanned && !q.confirmed && o.AutoConfirmAfter > 0 && q.polls67 >= o.AutoConfirmAfter {
		q.confirmed = true
	}
	switch {
	case o.QRLifetime > 0 && q.polls > o.QRLifetime && !q.confirmed:
		q.expired = true
		ptuiCB(w, "65", "", "二维码已失效。", "")
	case !q.scanned:
		q.polls66++
		ptuiCB(w, "66", "", "二维码未失效。", "")
	case !q.confirmed:
		q.polls67++
		ptuiCB(w, "67", "", "二维码认证中。", "")
	default:
		q.used = true
		s.acct.ptwebqq = "" // a new login starts with the empty ptwebqq of 2018
		s.ptloginCookiesLocked(w, r)
		url := s.checkSigURL(r, false, "ptqrlogin", "&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&f_url=&ptlang=2052&ptredirect=100&aid=501004106&daid=164&j_later=0&low_login_hour=0&regmaster=0&pt_login_type=3&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=0")
		ptuiCB(w, "0", url, "登录成功！", s.m.self.nick)
		s.log.Info("qr login confirmed", "uid", s.m.self.uid)
	}
}

// ptloginCookiesLocked sets what a successful ptlogin (QR or password) sets:
// the account cookies and a new supertoken that pt4_auth can resume.
func (s *Server) ptloginCookiesLocked(w http.ResponseWriter, r *http.Request) {
	self := s.m.self
	st := s.digitToken(10)
	s.acct.supertokens[st] = true
	u := uinCookie(self.uid)
	setCookie(w, r, "uin", u, "qq.com")
	setCookie(w, r, "pt2gguin", u, "qq.com")
	setCookie(w, r, "superuin", u, "ptlogin2.qq.com")
	setCookie(w, r, "supertoken", st, "ptlogin2.qq.com")
	setCookie(w, r, "superkey", s.alnumToken(44), "ptlogin2.qq.com")
	setCookie(w, r, "pt_recent_uins", s.hexToken(48), "ptlogin2.qq.com")
	setCookie(w, r, "RK", s.alnumToken(10), "qq.com")
	setCookie(w, r, "ptcz", s.hexToken(32), "qq.com")
	setCookie(w, r, "ptnick_"+strconv.FormatInt(self.uid, 10), hex.EncodeToString([]byte(self.nick)), "qq.com")
	setCookie(w, r, "ptwebqq", s.acct.ptwebqq, "qq.com")
}

// checkSigURL hands out a one-use check_sig ticket on the sandbox's own
// address (the real ones pointed at ptlogin4.web2.qq.com or ptlogin2.qq.com).
func (s *Server) checkSigURL(r *http.Request, ext bool, service, tail string) string {
	sigx := s.hexToken(64)
	s.acct.tickets[sigx] = ext
	pttype := "1"
	if service == "jump" {
		pttype = "2"
	}
	return fmt.Sprintf("%s/check_sig?pttype=%s&uin=%d&service=%s&nodirect=0&ptsigx=%s%s",
		baseURL(r), pttype, s.m.self.uid, service, sigx, tail)
}

// pt4Auth answers whether the ptlogin session in the cookies can be resumed
// without a QR code (spec §15.1c): code 2 with a check_sig URL, else code 1.
func (s *Server) pt4Auth(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refXLogin) {
		forbidden(w)
		return
	}
	st := cookie(r, "supertoken")
	token, _ := queryInt(r, "auth_token")
	daid, _ := queryInt(r, "daid")
	appid, _ := queryInt(r, "appid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if daid != daID || appid != appID || !s.acct.supertokens[st] ||
		cookie(r, "superuin") != uinCookie(s.m.self.uid) || token != time33(st) {
		writeJS(w, "ptui_auth_CB", "1", "")
		return
	}
	writeJS(w, "ptui_auth_CB", "2", s.checkSigURL(r, false, "jump", "&daid=164&pt_login_type=3&ptlang=2052"))
}

// checkSig redeems a ticket for the session cookies of SmartQQ (skey,
// p_skey, p_uin, pt4_token) or of qun.qq.com, then redirects to the page
// the real one did (spec §15.1d, §17.1 step 4).
func (s *Server) checkSig(w http.ResponseWriter, r *http.Request) {
	sigx := r.FormValue("ptsigx")
	uin, _ := queryInt(r, "uin")
	s.mu.Lock()
	ext, ok := s.acct.tickets[sigx]
	if !ok || uin != s.m.self.uid {
		s.mu.Unlock()
		forbidden(w)
		return
	}
	delete(s.acct.tickets, sigx)
	skey := "@" + s.alnumToken(9)
	pskey := s.alnumToken(44)
	s.acct.skeys[skey] = true
	s.acct.pskeys[pskey] = ext
	domain, next := "web2.qq.com", "/proxy.html?login2qq=1&webqq_type=10"
	if ext {
		domain, next = "qun.qq.com", "/"
	} else {
		s.acct.vfwebqq = s.hexToken(40)
	}
	u := uinCookie(s.m.self.uid)
	pt4 := s.alnumToken(44)
	s.mu.Unlock()
	setCookie(w, r, "uin", u, "qq.com")
	setCookie(w, r, "skey", skey, "qq.com")
	setCookie(w, r, "p_skey", pskey, domain)
	setCookie(w, r, "p_uin", u, domain)
	setCookie(w, r, "pt4_token", pt4, domain)
	http.Redirect(w, r, baseURL(r)+next, http.StatusFound)
}

// logout ends the ptlogin session when pt4_hkey proves the skey (spec §21)
// and expires the cookies; it always answers 200.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refW) {
		forbidden(w)
		return
	}
	skey := cookie(r, "skey")
	hkey, _ := queryInt(r, "pt4_hkey")
	s.mu.Lock()
	ok := s.acct.skeys[skey] && hkey == time33(skey)
	if ok {
		s.endLoginLocked(103)
		s.log.Info("logout")
	}
	s.mu.Unlock()
	if ok {
		for _, c := range []struct{ name, domain string }{
			{"uin", "qq.com"}, {"skey", "qq.com"}, {"ptwebqq", "qq.com"}, {"superuin", "ptlogin2.qq.com"},
			{"supertoken", "ptlogin2.qq.com"}, {"superkey", "ptlogin2.qq.com"}, {"p_skey", "web2.qq.com"},
			{"p_uin", "web2.qq.com"}, {"pt4_token", "web2.qq.com"},
		} {
			expireCookie(w, r, c.name, c.domain)
		}
	}
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	fmt.Fprint(w, "ptui_logout_CB('0');\r\n")
}
