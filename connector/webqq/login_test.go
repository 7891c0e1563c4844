package webqq

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openqq-relay/openqq"
)

// recObs records what a login tells its observer.
type recObs struct {
	mu      sync.Mutex
	qrs     [][]byte
	states  []openqq.ClientState
	changes int
	last    []byte
}

func (o *recObs) QRCode(png []byte) { o.mu.Lock(); o.qrs = append(o.qrs, png); o.mu.Unlock() }
func (o *recObs) State(s openqq.ClientState) {
	o.mu.Lock()
	o.states = append(o.states, s)
	o.mu.Unlock()
}
func (o *recObs) CookiesChanged(jar []byte) {
	o.mu.Lock()
	o.changes++
	o.last = jar
	o.mu.Unlock()
}

func loggedIn(t *testing.T, f *fakeQQ, o Options) (*Client, *recObs) {
	t.Helper()
	c := f.client(o)
	obs := &recObs{}
	if _, err := c.Login(t.Context(), obs); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c, obs
}

func TestQRLogin(t *testing.T) {
	f := newFakeQQ(t)
	c := f.client(Options{Account: "10001"})
	obs := &recObs{}
	scanned, err := c.Login(t.Context(), obs)
	if err != nil || !scanned {
		t.Fatalf("Login = %v, %v; want scanned", scanned, err)
	}
	if len(obs.qrs) != 1 || !strings.HasPrefix(string(obs.qrs[0]), "\x89PNG") {
		t.Errorf("QR codes %q", obs.qrs)
	}
	if want := []openqq.ClientState{openqq.StateScaning, openqq.StateConfirming}; !slices.Equal(obs.states, want) {
		t.Errorf("states %v, want %v", obs.states, want)
	}
	if obs.changes == 0 || !strings.Contains(string(obs.last), `"skey"`) {
		t.Errorf("cookie changes %d, last %s", obs.changes, obs.last)
	}
	s := c.snapshot()
	if !s.loggedIn || s.uid != fakeUID || s.psessionid != fakePSID || s.vfwebqq != fakeVF || s.ptwebqq != fakePTW {
		t.Errorf("session %+v", s)
	}

	// The wire, exactly as spec §15.2–15.4 write it.
	q := f.requests("/ptqrlogin")[0].Query
	want := "u1=http%3A%2F%2Fw.qq.com%2Fproxy.html&ptqrtoken=" + strconv.FormatInt(hash33("QRSIG1"), 10) +
		"&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=0-0-1516082717616&js_ver=10233&js_type=1" +
		"&login_sig=SIG&pt_uistyle=40&aid=501004106&daid=164&mibao_css=m_webqq&"
	if q != want {
		t.Errorf("ptqrlogin query\n%s\nwant\n%s", q, want)
	}
	if q := f.requests("/ptqrshow")[0].Query; !strings.HasPrefix(q, "appid=501004106&e=2&l=M&s=3&d=72&v=4&t=0.") ||
		!strings.HasSuffix(q, "&daid=164&pt_3rd_aid=0") {
		t.Errorf("ptqrshow query %s", q)
	}
	if q := f.requests("/api/getvfwebqq")[0].Query; !strings.HasPrefix(q, "ptwebqq="+fakePTW+"&clientid=53999199&psessionid=&t=") {
		t.Errorf("getvfwebqq query %s", q)
	}
	l2 := f.requests("/channel/login2")[0]
	if r := l2.Form.Get("r"); r != `{"clientid":53999199,"psessionid":null,"ptwebqq":"`+fakePTW+`","status":"online"}` {
		t.Errorf("login2 r=%s", r)
	}
	if ct := l2.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("login2 content type %q", ct)
	}
	// check_sig's redirect chain stored its cookies; login2 proxied p_skey.
	if got := f.requests("/proxy.html"); len(got) != 1 || got[0].Cookies["skey"] != "@SK" {
		t.Errorf("redirect target saw cookies %v", got)
	}
	if xl := f.requests("/cgi-bin/xlogin"); len(xl) != 1 || xl[0].Query != queryXLogin {
		t.Errorf("xlogin requests %v", xl)
	}
	if len(f.requests("/")) != 1 {
		t.Error("w.qq.com not fetched first")
	}
}

func TestQRLoginScannedByAnotherAccount(t *testing.T) {
	f := newFakeQQ(t)
	_, err := f.client(Options{Account: "555"}).Login(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "not by account 555") {
		t.Fatalf("Login err = %v", err)
	}
}

func TestQRExpiry(t *testing.T) {
	f := newFakeQQ(t)
	f.qrCodes = []int{66, 65, 66, 65, 65, 0}
	c := f.client(Options{QRExpiryLimit: 3})
	obs := &recObs{}
	_, err := c.Login(t.Context(), obs)
	if !errors.Is(err, openqq.ErrQRCodeExpired) {
		t.Fatalf("Login err = %v, want ErrQRCodeExpired", err)
	}
	if len(obs.qrs) != 3 {
		t.Errorf("%d QR codes shown, want 3 (the first and two after expiry)", len(obs.qrs))
	}
	if want := []openqq.ClientState{openqq.StateScaning}; !slices.Equal(obs.states, want) {
		t.Errorf("states %v", obs.states)
	}

	f.qrCodes = []int{65, 66, 0}
	if scanned, err := f.client(Options{}).Login(t.Context(), nil); err != nil || !scanned {
		t.Errorf("one expiry below the limit: %v, %v", scanned, err)
	}
}

func TestQRLoginErrors(t *testing.T) {
	for _, tc := range []struct {
		description string
		path        string
		h           http.HandlerFunc
	}{
		{"ptqrlogin fatal code", "/ptqrlogin", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ptuiCB('10005','0','','0','客户端版本过低', '')"))
		}},
		{"ptqrlogin html page", "/ptqrlogin", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>oops</html>")) }},
		{"xlogin down", "/cgi-bin/xlogin", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }},
		{"check_sig url not on qq.com", "/ptqrlogin", func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "uin", Value: "o0010001"})
			w.Write([]byte("ptuiCB('0','0','http://evil.example/check_sig?x','0','ok', '')"))
		}},
		{"getvfwebqq retcode", "/api/getvfwebqq", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":100001}`) }},
		{"login2 truncated", "/channel/login2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":0,"result":{"uin":`) }},
		{"login2 other account", "/channel/login2", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, `{"retcode":0,"result":{"uin":999,"psessionid":"p"}}`)
		}},
		{"login2 wrong types", "/channel/login2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":0,"result":[]}`) }},
		{"empty qr image", "/ptqrshow", func(w http.ResponseWriter, r *http.Request) {}},
	} {
		t.Run(tc.description, func(t *testing.T) {
			f := newFakeQQ(t)
			f.handle(tc.path, tc.h)
			scanned, err := f.client(Options{}).Login(t.Context(), nil)
			if err == nil {
				t.Fatalf("Login succeeded (scanned %v)", scanned)
			}
			if errors.Is(err, openqq.ErrQRCodeExpired) {
				t.Errorf("err %v", err)
			}
		})
	}
}

func TestCookieReuseLogin(t *testing.T) {
	f := newFakeQQ(t)
	a, _ := loggedIn(t, f, Options{})
	jar, err := a.ExportCookies()
	if err != nil {
		t.Fatal(err)
	}
	shown := len(f.requests("/ptqrshow"))

	b := f.client(Options{})
	if err := b.ImportCookies(jar); err != nil {
		t.Fatal(err)
	}
	scanned, err := b.Login(t.Context(), nil)
	if err != nil || scanned {
		t.Fatalf("Login = %v, %v; want a cookie login", scanned, err)
	}
	if n := len(f.requests("/ptqrshow")); n != shown {
		t.Errorf("cookie login downloaded a QR code")
	}
	auth := f.requests("/pt4_auth")
	if len(auth) != 1 || auth[0].Query != "daid=164&appid=501004106&auth_token="+strconv.FormatUint(uint64(time33("ST")), 10) {
		t.Errorf("pt4_auth %v", auth)
	}
	sig := f.requests("/check_sig")
	if last := sig[len(sig)-1]; !strings.HasSuffix(last.Query, "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html") {
		t.Errorf("check_sig query %s", last.Query)
	}
	if s := b.snapshot(); !s.loggedIn || s.uid != fakeUID || s.psessionid != fakePSID {
		t.Errorf("session %+v", s)
	}
}

func TestCookieReuseFallsBackToQR(t *testing.T) {
	for _, tc := range []struct {
		description string
		breakIt     func(f *fakeQQ)
		logout      bool
	}{
		{"pt4_auth refuses", func(f *fakeQQ) { f.resumable = false }, true},
		{"check_sig fails", func(f *fakeQQ) {
			f.handle("/check_sig", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("pttype") == "2" {
					http.Error(w, "expired", 403)
					return
				}
				f.answer(w, r, fakeReq{})
			})
		}, true},
		{"login2 refuses", func(f *fakeQQ) {
			n := 0
			f.handle("/channel/login2", func(w http.ResponseWriter, r *http.Request) {
				if n++; n == 1 {
					writeJSON(w, `{"retcode":100001}`)
					return
				}
				f.login2(w, fakeReq{Path: r.URL.Path, Form: r.PostForm})
			})
		}, true},
	} {
		t.Run(tc.description, func(t *testing.T) {
			f := newFakeQQ(t)
			a, _ := loggedIn(t, f, Options{})
			jar, _ := a.ExportCookies()
			tc.breakIt(f)
			f.qrCodes = []int{66}
			b := f.client(Options{})
			if err := b.ImportCookies(jar); err != nil {
				t.Fatal(err)
			}
			scanned, err := b.Login(t.Context(), nil)
			if err != nil || !scanned {
				t.Fatalf("Login = %v, %v; want the QR fallback", scanned, err)
			}
			if got := len(f.requests("/logout")); (got > 0) != tc.logout {
				t.Errorf("%d logouts", got)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{})
	if err := c.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	lo := f.requests("/logout")
	want := "pt4_token=T4&pt4_hkey=" + strconv.FormatUint(uint64(time33("@SK")), 10) +
		"&pt4_ptcz=" + strconv.FormatInt(hash33("CZ"), 10) + "&deep_logout=1"
	if len(lo) != 1 || lo[0].Query != want {
		t.Errorf("logout %v, want query %s", lo, want)
	}
	if c.snapshot().loggedIn {
		t.Error("still logged in")
	}
	if _, ok := c.jar.Get("supertoken"); ok {
		t.Error("the server's expiry of supertoken was not applied")
	}
	if _, err := c.Poll(t.Context()); !errors.Is(err, openqq.ErrLoginRequired) {
		t.Errorf("Poll after logout: %v", err)
	}
}

func TestHostOverridesPlaceClientCookies(t *testing.T) {
	f := newFakeQQ(t)
	d1 := newFakeQQ(t) // serves d1.web2.qq.com under another host name
	u, _ := url.Parse(d1.srv.URL)
	d1URL := "http://localhost:" + u.Port()
	c := f.client(Options{Endpoint: f.srv.URL, Hosts: map[string]string{hostD1: d1URL}})
	if _, err := c.Login(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	// login2 ran on the d1 host; the w.qq.com proxy of p_skey lands on the endpoint.
	if got := d1.requests("/channel/login2"); len(got) != 1 {
		t.Fatalf("login2 did not go to the d1 override")
	}
	d1.polls = []string{`{"retcode":116,"p":"newptw"}`, `{"retcode":102}`}
	if _, err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	polls := d1.requests("/channel/poll2")
	if last := polls[len(polls)-1]; last.Cookies["ptwebqq"] != "newptw" || !strings.Contains(last.Form.Get("r"), `"ptwebqq":"newptw"`) {
		t.Errorf("poll after 116: cookies %v, r=%s", last.Cookies, last.Form.Get("r"))
	}
	// The qq.com cookie also reaches the endpoint host, which stands in for the other qq.com hosts.
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	self := f.requests("/api/get_self_info2")
	if got := self[len(self)-1].Cookies; got["ptwebqq"] != "newptw" || got["p_skey"] != "PSK" {
		t.Errorf("endpoint host cookies %v", got)
	}
}

func TestBadEndpoint(t *testing.T) {
	for _, o := range []Options{{Endpoint: "ftp://x"}, {Hosts: map[string]string{hostD1: "not a url"}}} {
		if _, err := New(o).Login(t.Context(), nil); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestTransportErrorsHideQueries(t *testing.T) {
	f := newFakeQQ(t)
	endpoint := f.srv.URL
	f.srv.Close() // nothing listens there any more
	c := New(Options{Endpoint: endpoint, Logger: slog.New(slog.DiscardHandler)})
	_, err := c.Login(t.Context(), nil)
	if err == nil {
		t.Fatal("login against a closed port succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "xlogin") || strings.Contains(msg, "daid=") || strings.Contains(msg, "?") {
		t.Errorf("error %q: want the api named and no query string", msg)
	}
}
