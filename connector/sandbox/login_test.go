package sandbox

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestQRLoginFlow(t *testing.T) {
	srv := newTestServer(t, Options{Seed: 3})
	c := newClient(t, srv)
	img := c.showQR()
	if c.cookie("pt_login_sig") == "" || c.cookie("qrsig") == "" {
		t.Fatal("xlogin and ptqrshow set no pt_login_sig / qrsig")
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("QR image: %v", err)
	}
	if st := srv.State(); st.QR != "waiting" {
		t.Fatalf("state %+v", st)
	}
	for range 2 {
		if q := c.pollQR(); q[0] != "66" {
			t.Fatalf("before the scan: %q", q)
		}
	}
	srv.ScanQR()
	if q := c.pollQR(); q[0] != "67" {
		t.Fatalf("after the scan: %q", q)
	}
	srv.ConfirmQR()
	q := c.pollQR()
	self := srv.World().Self
	if len(q) != 6 || q[0] != "0" || q[4] != "登录成功！" || q[5] != self.Nick {
		t.Fatalf("after the confirm: %q", q)
	}
	if c.cookie("uin") != fmt.Sprintf("o%010d", self.UID) || c.cookie("supertoken") == "" || c.cookie("superuin") == "" {
		t.Fatal("ptqrlogin 0 set no uin / supertoken / superuin cookie")
	}
	sig, err := url.Parse(q[2])
	if err != nil || sig.Host != c.base.Host || sig.Path != "/check_sig" || sig.Query().Get("uin") != fmt.Sprint(self.UID) {
		t.Fatalf("check_sig URL %q", q[2])
	}
	c.finishLogin(q[2])
	for _, name := range []string{"skey", "p_skey", "p_uin", "pt4_token"} {
		if c.cookie(name) == "" {
			t.Errorf("check_sig set no %s", name)
		}
	}
	if c.ptwebqq != "" || c.vfwebqq == "" || !strings.HasPrefix(c.psessionid, psessionPrefix) {
		t.Fatalf("ptwebqq %q vfwebqq %q psessionid %q", c.ptwebqq, c.vfwebqq, c.psessionid)
	}
	if st := srv.State(); st.QR != "used" || !st.LoggedIn {
		t.Fatalf("state %+v", st)
	}
	// The QR code is used up.
	if q := c.pollQR(); q[0] != "65" {
		t.Fatalf("used QR: %q", q)
	}
}

func TestLogin2AnswersTheQQNumber(t *testing.T) {
	srv := newTestServer(t, Options{SelfUID: 2372961723})
	c := newClient(t, srv)
	c.showQR()
	srv.ConfirmQR()
	q := c.pollQR()
	u, _ := url.Parse(q[2])
	c.get(u.RequestURI(), "")
	m := c.getJSON("/api/getvfwebqq?ptwebqq=&clientid=53999199&psessionid=&t=1", refS)
	vf := m["result"].(map[string]any)["vfwebqq"]
	m = c.postR("/channel/login2", refD1, map[string]any{"clientid": 53999199, "psessionid": nil, "ptwebqq": "", "status": "online"})
	res := m["result"].(map[string]any)
	if num(t, res["uin"]) != 2372961723 || res["vfwebqq"] != vf || res["status"] != "online" {
		t.Fatalf("login2 %v", m)
	}
}

// [SIM] spec §23: a ptqrtoken that is not hash33(qrsig) gets neither 65,
// 66, 67 nor 0.
func TestPtqrtokenMustMatchQrsig(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	c.showQR()
	srv.ConfirmQR()
	token := hash33(c.cookie("qrsig"))
	for _, bad := range []string{
		c.ptqrloginPath(token + 1),
		strings.Replace(c.ptqrloginPath(token), "login_sig="+c.cookie("pt_login_sig"), "login_sig=nope", 1),
		strings.Replace(c.ptqrloginPath(token), "aid=501004106", "aid=1", 1),
	} {
		code, body := c.get(bad, refXLogin)
		if q := quoted(body); code != 200 || q[0] != "7" {
			t.Errorf("%s: %d %q", bad, code, q)
		}
	}
	if code, _ := c.get(c.ptqrloginPath(token), refW); code != http.StatusForbidden {
		t.Errorf("wrong referer: %d", code)
	}
	// The confirmed QR code is still there for the right request.
	if q := c.pollQR(); q[0] != "0" {
		t.Fatalf("right token: %q", q)
	}
}

func TestAutoScanAndConfirm(t *testing.T) {
	srv := newTestServer(t, Options{AutoScanAfter: 2, AutoConfirmAfter: 1})
	c := newClient(t, srv)
	c.showQR()
	var got []string
	for range 4 {
		got = append(got, c.pollQR()[0])
	}
	if strings.Join(got, ",") != "66,66,67,0" {
		t.Fatalf("codes %v", got)
	}
}

func TestQRExpiry(t *testing.T) {
	srv := newTestServer(t, Options{QRLifetime: 2})
	c := newClient(t, srv)
	c.showQR()
	var got []string
	for range 3 {
		got = append(got, c.pollQR()[0])
	}
	if strings.Join(got, ",") != "66,66,65" {
		t.Fatalf("codes %v", got)
	}
	// A new QR code works; ExpireQR ends it early.
	c.showQR()
	if q := c.pollQR(); q[0] != "66" {
		t.Fatalf("new QR: %q", q)
	}
	srv.ExpireQR()
	if q := c.pollQR(); q[0] != "65" {
		t.Fatalf("expired QR: %q", q)
	}
	if st := srv.State(); st.QR != "expired" {
		t.Fatalf("state %+v", st)
	}
}

func TestConfirmBeforeTheQRIsShown(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.ConfirmQR()
	c := newClient(t, srv)
	c.showQR()
	if q := c.pollQR(); q[0] != "0" {
		t.Fatalf("ptqrlogin %q", q)
	}
}

// Cookie reuse (spec §15.1): a client restarted with the saved jar resumes
// through pt4_auth and check_sig without a QR code; the new login ends the
// old channel session (103).
func TestCookieReuse(t *testing.T) {
	srv := newTestServer(t, Options{})
	old := newClient(t, srv)
	old.login()
	c := &client{t: t, srv: srv, hc: &http.Client{Transport: old.hc.Transport, Jar: old.hc.Jar}, base: old.base}
	token := time33(c.cookie("supertoken"))
	code, body := c.get(fmt.Sprintf("/pt4_auth?daid=164&appid=501004106&auth_token=%d", token), refXLogin)
	q := quoted(body)
	if code != 200 || len(q) != 2 || q[0] != "2" || !strings.Contains(q[1], "/check_sig?") {
		t.Fatalf("pt4_auth: %d %q", code, body)
	}
	c.finishLogin(q[1] + "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html")
	if c.psessionid == old.psessionid {
		t.Fatal("the resumed login kept the psessionid")
	}
	if m := old.pollJSON(); rc(t, m) != 103 {
		t.Fatalf("old session poll: %v", m)
	}
	// A wrong auth_token or a missing supertoken does not resume.
	_, body = c.get(fmt.Sprintf("/pt4_auth?daid=164&appid=501004106&auth_token=%d", token+1), refXLogin)
	if q := quoted(body); q[0] != "1" || q[1] != "" {
		t.Fatalf("wrong auth_token: %q", body)
	}
}

func TestCheckSigTicketIsSingleUse(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	c.showQR()
	srv.ConfirmQR()
	u, _ := url.Parse(c.pollQR()[2])
	if code, _ := c.get(u.RequestURI(), ""); code != 200 {
		t.Fatalf("first check_sig: %d", code)
	}
	if code, _ := c.get(u.RequestURI(), ""); code != http.StatusForbidden {
		t.Fatalf("second check_sig: %d", code)
	}
}

func TestExpireSessionStopsResume(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	c.login()
	if err := srv.ExpireSession(100000); err != nil {
		t.Fatal(err)
	}
	if m := c.pollJSON(); rc(t, m) != 100000 {
		t.Fatalf("poll2 after expiry: %v", m)
	}
	_, body := c.get(fmt.Sprintf("/pt4_auth?daid=164&appid=501004106&auth_token=%d", time33(c.cookie("supertoken"))), refXLogin)
	if q := quoted(body); q[0] != "1" || strings.Contains(body, "check_sig") {
		t.Fatalf("pt4_auth after expiry: %s", body)
	}
	if m := c.getJSON("/api/get_self_info2?t=1", refS); rc(t, m) != 100000 {
		t.Fatalf("get_self_info2 after expiry: %v", m)
	}
	if srv.ExpireSession(0) == nil {
		t.Fatal("ExpireSession(0) accepted")
	}
	// A new QR login works again.
	c2 := newClient(t, srv)
	c2.login()
	if m := c2.getJSON("/api/get_self_info2?t=1", refS); rc(t, m) != 0 {
		t.Fatalf("after a new login: %v", m)
	}
}

func TestLogout(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	c.login()
	path := fmt.Sprintf("/logout?pt4_token=%s&pt4_hkey=%d&pt4_ptcz=%d&deep_logout=1",
		c.cookie("pt4_token"), time33(c.cookie("skey")), hash33(c.cookie("ptcz")))
	if code, _ := c.get(path, refW); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if c.cookie("skey") != "" || c.cookie("supertoken") != "" {
		t.Fatal("logout left skey / supertoken in the jar")
	}
	if m := c.pollJSON(); rc(t, m) != 103 {
		t.Fatalf("poll2 after logout: %v", m)
	}
	if st := srv.State(); st.LoggedIn {
		t.Fatal("still logged in")
	}
}

// Cookies carry their real domains only when the Host is a qq.com host.
func TestCookieDomains(t *testing.T) {
	srv := newTestServer(t, Options{})
	for _, c := range []struct{ host, want string }{
		{"ssl.ptlogin2.qq.com", "ptlogin2.qq.com"},
		{strings.TrimPrefix(srv.URL, "http://"), ""},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/cgi-bin/xlogin?appid=501004106", nil)
		req.Host = c.host
		req.Header.Set("Referer", refW)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var sig *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "pt_login_sig" {
				sig = ck
			}
		}
		if sig == nil || sig.Domain != c.want {
			t.Errorf("Host %s: pt_login_sig %+v, want domain %q", c.host, sig, c.want)
		}
	}
}

func TestQRImage(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(qrPNG("some-qrsig")))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 135 || b.Dy() != 135 {
		t.Fatalf("size %v", b)
	}
	dark := func(x, y int) bool { // module coordinates
		r, _, _, _ := img.At((4+x)*3+1, (4+y)*3+1).RGBA()
		return r == 0
	}
	// The three finder patterns: dark corner, light ring, dark core.
	for _, o := range [][2]int{{0, 0}, {30, 0}, {0, 30}} {
		if !dark(o[0], o[1]) || dark(o[0]+1, o[1]+1) || !dark(o[0]+3, o[1]+3) {
			t.Fatalf("finder at %v", o)
		}
	}
	if !bytes.Equal(qrPNG("a"), qrPNG("a")) || bytes.Equal(qrPNG("a"), qrPNG("b")) {
		t.Fatal("the image does not follow the qrsig")
	}
}

func TestStartTLS(t *testing.T) {
	srv := NewUnstartedServer(Options{})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", srv.URL)
	}
	c := newClient(t, srv)
	c.login()
	u, _ := url.Parse(srv.URL)
	if srv.State().LoggedIn != true || u.Scheme != "https" {
		t.Fatal("no login over TLS")
	}
}
