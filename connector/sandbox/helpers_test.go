package sandbox

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newTestServer starts a sandbox that logs to the test and closes with it.
func newTestServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	srv := NewServer(o)
	t.Cleanup(srv.Close)
	return srv
}

// client speaks the protocol by hand, as spec Part 2 describes it, with
// plain net/http and a cookie jar.
type client struct {
	t          testing.TB
	srv        *Server
	hc         *http.Client
	base       *url.URL
	ptwebqq    string
	vfwebqq    string
	psessionid string
}

func newClient(t testing.TB, srv *Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := srv.Client()
	hc.Jar = jar
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, srv: srv, hc: hc, base: u}
}

// do sends a request and returns the status and body.
func (c *client) do(method, path, referer string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (c *client) get(path, referer string) (int, string) { return c.do("GET", path, referer, nil) }

// getJSON GETs and decodes a JSON object, failing on a non-200.
func (c *client) getJSON(path, referer string) map[string]any {
	c.t.Helper()
	code, body := c.get(path, referer)
	return c.decode(code, body)
}

// postR POSTs the form r=<JSON of r> and decodes the JSON answer.
func (c *client) postR(path, referer string, r any) map[string]any {
	c.t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		c.t.Fatal(err)
	}
	code, body := c.do("POST", path, referer, url.Values{"r": {string(raw)}})
	return c.decode(code, body)
}

func (c *client) postForm(path, referer string, form url.Values) map[string]any {
	c.t.Helper()
	code, body := c.do("POST", path, referer, form)
	return c.decode(code, body)
}

func (c *client) decode(code int, body string) map[string]any {
	c.t.Helper()
	if code != http.StatusOK {
		c.t.Fatalf("status %d: %s", code, body)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		c.t.Fatalf("not JSON: %q", body)
	}
	return m
}

func (c *client) cookie(name string) string {
	for _, ck := range c.hc.Jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

var quotedRE = regexp.MustCompile(`'([^']*)'`)

// quoted returns the single-quoted arguments of a ptlogin callback.
func quoted(body string) []string {
	var out []string
	for _, m := range quotedRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// num reads a JSON number (decoded with UseNumber) as int64.
func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func rc(t testing.TB, m map[string]any) int64 {
	t.Helper()
	v, ok := m["retcode"]
	if !ok {
		t.Fatalf("no retcode in %v", m)
	}
	return num(t, v)
}

// ptqrloginPath is the poll URL of spec §15.2h with the trailing &.
func (c *client) ptqrloginPath(token int64) string {
	return fmt.Sprintf("/ptqrlogin?u1=http%%3A%%2F%%2Fw.qq.com%%2Fproxy.html&ptqrtoken=%d&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=0-0-1516082717616&js_ver=10233&js_type=1&login_sig=%s&pt_uistyle=40&aid=501004106&daid=164&mibao_css=m_webqq&",
		token, c.cookie("pt_login_sig"))
}

// showQR runs xlogin and ptqrshow, returning the PNG.
func (c *client) showQR() []byte {
	c.t.Helper()
	if code, _ := c.get("/", ""); code != 200 {
		c.t.Fatalf("w.qq.com: %d", code)
	}
	if code, body := c.get("/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001", refW); code != 200 {
		c.t.Fatalf("xlogin: %d %s", code, body)
	}
	code, png := c.get("/ptqrshow?appid=501004106&e=2&l=M&s=3&d=72&v=4&t=0.1&daid=164&pt_3rd_aid=0", refXLogin)
	if code != 200 {
		c.t.Fatalf("ptqrshow: %d", code)
	}
	return []byte(png)
}

// pollQR polls ptqrlogin once and returns its quoted strings.
func (c *client) pollQR() []string {
	c.t.Helper()
	code, body := c.get(c.ptqrloginPath(hash33(c.cookie("qrsig"))), refXLogin)
	if code != 200 {
		c.t.Fatalf("ptqrlogin: %d %s", code, body)
	}
	return quoted(body)
}

// finishLogin follows a check_sig URL, then getvfwebqq and login2.
func (c *client) finishLogin(checkSig string) {
	c.t.Helper()
	u, err := url.Parse(checkSig)
	if err != nil {
		c.t.Fatal(err)
	}
	if code, body := c.get(u.RequestURI(), ""); code != 200 {
		c.t.Fatalf("check_sig: %d %s", code, body)
	}
	c.ptwebqq = c.cookie("ptwebqq")
	m := c.getJSON("/api/getvfwebqq?ptwebqq="+c.ptwebqq+"&clientid=53999199&psessionid=&t=1", refS)
	if rc(c.t, m) != 0 {
		c.t.Fatalf("getvfwebqq: %v", m)
	}
	c.vfwebqq = m["result"].(map[string]any)["vfwebqq"].(string)
	m = c.postR("/channel/login2", refD1, map[string]any{"clientid": clientID, "psessionid": nil, "ptwebqq": c.ptwebqq, "status": "online"})
	if rc(c.t, m) != 0 {
		c.t.Fatalf("login2: %v", m)
	}
	c.psessionid = m["result"].(map[string]any)["psessionid"].(string)
}

// login does the whole QR login of spec §15.2.
func (c *client) login() {
	c.t.Helper()
	c.showQR()
	c.srv.ConfirmQR()
	q := c.pollQR()
	if q[0] != "0" {
		c.t.Fatalf("ptqrlogin: %q", q)
	}
	c.finishLogin(q[2])
}

func (c *client) hash() string { return friendsHash(c.ptwebqq, c.srv.World().Self.UID) }

// poll sends one poll2 and returns the status and body.
func (c *client) poll() (int, string) {
	c.t.Helper()
	raw, _ := json.Marshal(map[string]any{"clientid": clientID, "key": "", "psessionid": c.psessionid, "ptwebqq": c.ptwebqq})
	return c.do("POST", "/channel/poll2", refD1, url.Values{"r": {string(raw)}})
}

func (c *client) pollJSON() map[string]any {
	c.t.Helper()
	return c.decode(c.poll())
}

// waitHeld waits until n poll2 requests are held by the server.
func waitHeld(t testing.TB, srv *Server, n int) {
	t.Helper()
	for srv.State().Polling != n {
		select {
		case <-t.Context().Done():
			t.Fatal("poll2 never held")
		case <-time.After(time.Millisecond):
		}
	}
}

// sealPassword builds p the way Webqq::Encryption v1.7 does, with key as the
// RSA public key.
func sealPassword(t testing.TB, key *rsa.PublicKey, password string, salt [8]byte, vcode string) string {
	t.Helper()
	pw := md5.Sum([]byte(password))
	teaKey := md5.Sum(append(pw[:], salt[:]...))
	inner := append(append(pw[:], salt[:]...), byte(len(vcode)>>8), byte(len(vcode)))
	inner = append(inner, strings.ToUpper(vcode)...)
	c := teaEncrypt(teaKey, inner)
	payload := binary.BigEndian.AppendUint16(nil, uint16(len(c)))
	return encodeP(rsaSeal(t, key, append(payload, c...)))
}

func encodeP(blob []byte) string {
	return strings.NewReplacer("/", "-", "+", "*", "=", "_").Replace(base64.StdEncoding.EncodeToString(blob))
}

// rsaSeal is textbook RSA with PKCS#1 v1.5 type 2 padding.
func rsaSeal(t testing.TB, key *rsa.PublicKey, msg []byte) []byte {
	t.Helper()
	k := key.Size()
	em := make([]byte, k)
	em[1] = 2
	ps := em[2 : k-len(msg)-1]
	for i := range ps {
		for ps[i] == 0 {
			if _, err := rand.Read(ps[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	copy(em[k-len(msg):], msg)
	m := new(big.Int).SetBytes(em)
	c := new(big.Int).Exp(m, big.NewInt(int64(key.E)), key.N)
	return c.FillBytes(make([]byte, k))
}

// teaEncrypt is QQ-TEA encryption, the inverse of teaDecrypt.
func teaEncrypt(key [16]byte, data []byte) []byte {
	pad := (len(data) + 10) % 8
	if pad != 0 {
		pad = 8 - pad
	}
	fill := make([]byte, 1+pad+2)
	_, _ = rand.Read(fill)
	fill[0] = fill[0]&0xF8 | byte(pad)
	plain := append(append(fill, data...), make([]byte, 7)...)
	k := teaKeyWords(key)
	out := make([]byte, len(plain))
	var prevX, prevC [8]byte
	for i := 0; i < len(plain); i += 8 {
		var x [8]byte
		for j := range x {
			x[j] = plain[i+j] ^ prevC[j]
		}
		e := teaBlockEncrypt(k, x)
		for j := range e {
			out[i+j] = e[j] ^ prevX[j]
		}
		prevX = x
		copy(prevC[:], out[i:i+8])
	}
	return out
}

func teaBlockEncrypt(k [4]uint32, in [8]byte) [8]byte {
	v0, v1 := binary.BigEndian.Uint32(in[:4]), binary.BigEndian.Uint32(in[4:])
	var sum uint32
	for range 16 {
		sum += teaDelta
		v0 += ((v1 << 4) + k[0]) ^ (v1 + sum) ^ ((v1 >> 5) + k[1])
		v1 += ((v0 << 4) + k[2]) ^ (v0 + sum) ^ ((v0 >> 5) + k[3])
	}
	var out [8]byte
	binary.BigEndian.PutUint32(out[:4], v0)
	binary.BigEndian.PutUint32(out[4:], v1)
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
