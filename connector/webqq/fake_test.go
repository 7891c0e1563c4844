package webqq

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeQQ is a small SmartQQ server for the client's own tests: it checks
// the headers of every request against the Referer table of spec §13 and
// answers from a tiny fixed world. Tests override single paths with
// handle(). The full protocol simulator lives in connector/sandbox.
type fakeQQ struct {
	t   testing.TB
	srv *httptest.Server
	key *rsa.PrivateKey

	mu        sync.Mutex // guards everything below
	reqs      []fakeReq
	over      map[string]http.HandlerFunc
	qrCodes   []int // ptqrlogin answers in order; then 0
	qrShown   int
	resumable bool
	polls     []string // poll2 answers in order; then retcode 102
	sends     []string // send answers in order; then success
}

type fakeReq struct {
	Method, Path, Query string
	Form                url.Values
	Header              http.Header
	Cookies             map[string]string
}

const (
	fakeUID  = 10001
	fakeVF   = "vf0123"
	fakePSID = "psid0123"
	fakePTW  = "ptw0123"
)

var fakeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

func newFakeQQ(t testing.TB) *fakeQQ {
	f := &fakeQQ{t: t, key: fakeKey(), over: map[string]http.HandlerFunc{}, qrCodes: []int{66, 67}, resumable: true}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a Client on the fake with no waits.
func (f *fakeQQ) client(o Options) *Client {
	if o.Endpoint == "" && o.Hosts == nil {
		o.Endpoint = f.srv.URL
	}
	o.HTTPClient = f.srv.Client()
	if o.SendInterval == 0 {
		o.SendInterval = NoDelay
	}
	o.QRPollInterval, o.PollPause = NoDelay, NoDelay
	if o.PasswordKey == nil {
		o.PasswordKey = &f.key.PublicKey
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(o)
}

func (f *fakeQQ) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.over[path] = h
}

func (f *fakeQQ) requests(path string) []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeReq
	for _, r := range f.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// wantReferer is the Referer table of spec §13 ("" = none).
func wantReferer(path string, q url.Values) string {
	switch {
	case path == "/cgi-bin/xlogin" && q.Get("appid") == extAppID:
		return refQunHome
	case path == "/cgi-bin/xlogin", path == "/logout":
		return refW
	case path == "/ptqrshow", path == "/ptqrlogin", path == "/pt4_auth":
		return refXLogin
	case path == "/check", path == "/login":
		return refExtLogin
	case strings.HasPrefix(path, "/api/"):
		return refS
	case strings.HasPrefix(path, "/channel/"):
		return refD1
	case strings.HasPrefix(path, "/cgi-bin/qun_mgr/"):
		return refQun
	case path == "/cgi-bin/qun_info/set_group_shutup":
		return refQinfo3
	case strings.HasPrefix(path, "/cgi-bin/qun_info/"):
		return refQinfo
	}
	return ""
}

func (f *fakeQQ) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	rec := fakeReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Form: r.PostForm,
		Header: r.Header.Clone(), Cookies: map[string]string{}}
	for _, c := range r.Cookies() {
		rec.Cookies[c.Name] = c.Value
	}
	if ua := r.Header.Get("User-Agent"); ua != userAgent {
		f.t.Errorf("%s: User-Agent %q", r.URL.Path, ua)
	}
	if ref, want := r.Header.Get("Referer"), wantReferer(r.URL.Path, r.URL.Query()); ref != want {
		f.t.Errorf("%s: Referer %q, want %q", r.URL.Path, ref, want)
	}
	if o := r.Header.Get("Origin"); o != "" {
		f.t.Errorf("%s: unexpected Origin %q", r.URL.Path, o)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	h := f.over[r.URL.Path]
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	f.answer(w, r, rec)
}

func setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/"})
}

func (f *fakeQQ) answer(w http.ResponseWriter, r *http.Request, rec fakeReq) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/", "/proxy.html":
		io.WriteString(w, "<html></html>")
	case "/cgi-bin/xlogin":
		setCookie(w, "pt_login_sig", "SIG")
	case "/ptqrshow":
		f.mu.Lock()
		f.qrShown++
		n := f.qrShown
		f.mu.Unlock()
		setCookie(w, "qrsig", "QRSIG"+strconv.Itoa(n))
		fmt.Fprintf(w, "\x89PNG fake %d", n)
	case "/ptqrlogin":
		f.ptqrlogin(w, rec, q)
	case "/pt4_auth":
		if q.Get("auth_token") != strconv.FormatUint(uint64(time33(rec.Cookies["supertoken"])), 10) {
			f.t.Errorf("pt4_auth: auth_token %s for supertoken %q", q.Get("auth_token"), rec.Cookies["supertoken"])
		}
		f.mu.Lock()
		ok := f.resumable
		f.mu.Unlock()
		if ok {
			fmt.Fprintf(w, "ptui_auth_CB('0','%s/check_sig?pttype=2&uin=%d')", f.srv.URL, fakeUID)
		} else {
			io.WriteString(w, "ptui_auth_CB('-1','')")
		}
	case "/check_sig":
		for _, c := range []string{"skey=@SK", "p_skey=PSK", "p_uin=o0010001", "pt4_token=T4", "ptcz=CZ"} {
			n, v, _ := strings.Cut(c, "=")
			setCookie(w, n, v)
		}
		http.Redirect(w, r, "/proxy.html?login2qq=1", http.StatusFound)
	case "/api/getvfwebqq":
		writeJSON(w, `{"retcode":0,"result":{"vfwebqq":"`+fakeVF+`"}}`)
	case "/channel/login2":
		f.login2(w, rec)
	case "/logout":
		http.SetCookie(w, &http.Cookie{Name: "supertoken", Value: "", Path: "/", MaxAge: -1})
	case "/channel/poll2":
		f.mu.Lock()
		ans := `{"retcode":102,"errmsg":""}`
		if len(f.polls) > 0 {
			ans, f.polls = f.polls[0], f.polls[1:]
		}
		f.mu.Unlock()
		if status, ok := strings.CutPrefix(ans, "HTTP "); ok {
			code, _ := strconv.Atoi(status)
			http.Error(w, "<html>gateway</html>", code)
			return
		}
		writeJSON(w, ans)
	case "/channel/send_buddy_msg2", "/channel/send_qun_msg2", "/channel/send_discu_msg2", "/channel/send_sess_msg2":
		f.mu.Lock()
		ans := `{"errCode":0,"msg":"send ok"}`
		if len(f.sends) > 0 {
			ans, f.sends = f.sends[0], f.sends[1:]
		}
		f.mu.Unlock()
		writeJSON(w, ans)
	case "/channel/get_c2cmsg_sig2":
		writeJSON(w, `{"retcode":0,"result":{"type":0,"value":"SIG-`+q.Get("id")+`-`+q.Get("to_uin")+`","flags":{"text":1}}}`)
	default:
		if !f.contacts(w, r, rec) && !f.ext(w, r, rec) {
			http.NotFound(w, r)
		}
	}
}

func writeJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, s)
}

func (f *fakeQQ) ptqrlogin(w http.ResponseWriter, rec fakeReq, q url.Values) {
	if q.Get("ptqrtoken") != strconv.FormatInt(hash33(rec.Cookies["qrsig"]), 10) || q.Get("login_sig") != "SIG" {
		io.WriteString(w, "ptuiCB('10006','0','','0','bad token', '')")
		return
	}
	f.mu.Lock()
	code := 0
	if len(f.qrCodes) > 0 {
		code, f.qrCodes = f.qrCodes[0], f.qrCodes[1:]
	}
	f.mu.Unlock()
	if code != 0 {
		fmt.Fprintf(w, "ptuiCB('%d','0','','0','二维码状态', '')", code)
		return
	}
	for _, c := range []string{"uin=o0010001", "ptwebqq=" + fakePTW, "supertoken=ST", "superuin=o0010001"} {
		n, v, _ := strings.Cut(c, "=")
		setCookie(w, n, v)
	}
	fmt.Fprintf(w, "ptuiCB('0','0','%s/check_sig?pttype=1&uin=%d&service=ptqrlogin','0','登录成功！', '小灰');", f.srv.URL, fakeUID)
}

// rParam decodes the r= form value.
func rParam(t testing.TB, rec fakeReq) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(rec.Form.Get("r")), &m); err != nil {
		t.Errorf("%s: r=%q: %v", rec.Path, rec.Form.Get("r"), err)
	}
	return m
}

func (f *fakeQQ) login2(w http.ResponseWriter, rec fakeReq) {
	r := rParam(f.t, rec)
	if r["clientid"] != float64(clientID) || r["status"] != "online" {
		f.t.Errorf("login2 r=%v", r)
	}
	if _, relink := r["key"]; relink {
		writeJSON(w, `{"retcode":0,"result":{"psessionid":"psid-relinked","vfwebqq":"vf-relinked","ptwebqq":"ptw-relinked","skey":"@SK2"}}`)
		return
	}
	writeJSON(w, fmt.Sprintf(`{"retcode":0,"result":{"cip":1,"f":0,"index":1075,"port":47450,"psessionid":%q,"status":"online","uin":%d,"user_state":0}}`, fakePSID, fakeUID))
}
