package relay

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestRecoverAnswers500AndLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	fs := &failingStore{DB: e.db, panicky: true}
	e.h = New(Options{Store: fs, Account: e.acct, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	e.url, e.client = srv.URL, srv.Client()

	res := e.do(get("/openqq/get_friend_info?datatype=jsonp&callback=cb"))
	if res.status != http.StatusInternalServerError || string(res.body) != `cb({"code":500,"status":"internal error"})` {
		t.Errorf("panic answered %d %s", res.status, res.body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "handler panic") || !strings.Contains(logs, "contacts exploded") {
		t.Errorf("panic not logged:\n%s", logs)
	}
	fs.mu.Lock()
	fs.panicky, fs.down = false, true
	fs.mu.Unlock()
	res = e.do(get("/openqq/get_friend_info"))
	if res.status != http.StatusInternalServerError || string(res.body) != `{"code":500,"status":"internal error"}` {
		t.Errorf("store failure answered %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "redis") {
		t.Error("internal detail reached the caller")
	}
	// A write reads the state and the contacts version in one call first.
	res = e.do(get("/openqq/send_friend_message?id=1&content=x"))
	if res.status != http.StatusInternalServerError || string(res.body) != `{"code":500,"status":"internal error"}` {
		t.Errorf("store failure on a send answered %d %s", res.status, res.body)
	}
	if !strings.Contains(e.logs.String(), "redis is down") {
		t.Error("store failure not logged")
	}
	if res := e.do(get("/healthz")); res.status != http.StatusServiceUnavailable || res.json(t)["redis"] != "unreachable" {
		t.Errorf("healthz with the store down: %d %s", res.status, res.body)
	}
}

// A Redis that went away: /healthz says so, the API answers 500, nothing hangs.
func TestRedisGone(t *testing.T) {
	t.Parallel()
	emb, err := store.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	db, err := store.Open(t.Context(), store.Options{URL: emb.URL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := New(Options{Store: db, Logger: slog.New(slog.DiscardHandler)})
	emb.Close()
	for target, want := range map[string]int{"/healthz": 503, "/openqq/get_user_info": 500, "/openqq/check_event": 500} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != want {
			t.Errorf("%s: %d %s, want %d", target, rec.Code, rec.Body, want)
		}
	}
}

func TestNoSecretInLogs(t *testing.T) {
	t.Parallel()
	const secret = "topsecret-7f3a"
	e := newEnv(t, withTokens(secret+",ro-"+secret+":ro")).seed()
	e.connector(defaultAnswer)
	reqs := []request{
		{method: http.MethodGet, target: "/openqq/get_user_info", header: map[string]string{"Authorization": "Bearer " + secret}},
		{method: http.MethodGet, target: "/openqq/send_friend_message?id=2457053936&content=x", header: map[string]string{"X-Auth-Token": secret}},
		get("/openqq/send_friend_message?id=2457053936&content=x&access_token=ro-" + secret),
		get("/openqq/get_user_info?access_token=wrong-" + secret),
		postForm("/openqq/kick_group_member", "group_uid=67890&member_uid=45678&access_token="+secret),
		get("/openqq/nope?access_token=" + secret),
	}
	for _, r := range reqs {
		e.do(r)
	}
	if logs := e.logs.String(); strings.Contains(logs, secret) {
		t.Errorf("a token reached the logs:\n%s", logs)
	}
	for _, c := range e.commands() {
		if _, ok := c.Params["access_token"]; ok {
			t.Errorf("the token travelled with command %s", c.API)
		}
	}
}

func TestParseTokens(t *testing.T) {
	got, err := ParseTokens(" a , b:ro,c:rw,, d:x ")
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{{Value: "a"}, {Value: "b", ReadOnly: true}, {Value: "c"}, {Value: "d:x"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("token %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{":ro", "a,:rw", "a b"} {
		_, err := ParseTokens(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "a b") {
			t.Errorf("error %q shows the token", err)
		}
	}
	if toks, err := ParseTokens(""); err != nil || toks != nil {
		t.Errorf("empty list: %v %v", toks, err)
	}
	k := newKeyring(want)
	for offered, w := range map[string][2]bool{"a": {true, false}, "b": {true, true}, "": {false, false}, "a ": {false, false}, "A": {false, false}} {
		if ok, ro := k.check(offered); ok != w[0] || ro != w[1] {
			t.Errorf("check(%q) = %v %v, want %v", offered, ok, ro, w)
		}
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newEnv(t, withTokens("s3cret"), func(o *Options) { o.Registry = reg }).seed()
	// A second handler on the same registry shares its series.
	New(Options{Store: e.db, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	auth := map[string]string{"X-Auth-Token": "s3cret"}
	e.do(request{method: http.MethodGet, target: "/openqq/get_user_info", header: auth})
	e.do(request{method: http.MethodGet, target: "/openqq/search_friend?uid=1", header: auth})
	e.do(get("/openqq/get_user_info"))
	e.do(get("/nope"))
	res := e.do(request{method: http.MethodGet, target: "/metrics", header: auth})
	body := string(res.body)
	for _, want := range []string{
		`openqq_relay_requests_total{code="0",route="get_user_info",status="200"} 1`,
		`openqq_relay_requests_total{code="100",route="search_friend",status="200"} 1`,
		`openqq_relay_requests_total{code="-6",route="get_user_info",status="401"} 1`,
		`openqq_relay_requests_total{code="",route="not_found",status="403"} 1`,
		`openqq_relay_request_duration_seconds_count{route="get_user_info"} 2`,
		`openqq_relay_check_event_waiters 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics answered %d %s", res.status, res.header.Get("Content-Type"))
	}
}

func TestConsolePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTokens("s3cret"), func(o *Options) { o.ConfirmScanURL = "http://127.0.0.1:9/sandbox/scan?a=1&b=\"><script>" }).seed()
	if res := e.do(get("/")); res.status != http.StatusUnauthorized {
		t.Errorf("the page without a token: %d", res.status)
	}
	res := e.do(get("/?access_token=s3cret"))
	page, csp := string(res.body), res.header.Get("Content-Security-Policy")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.status, res.header.Get("Content-Type"))
	}
	if strings.Contains(page, "s3cret") {
		t.Error("the server wrote the token into the page")
	}
	for _, want := range []string{`id="qr"`, `id="confirm"`, "/openqq/check_client", "/openqq/get_qrcode", `data-confirm="http://127.0.0.1:9/sandbox/scan?a=1&amp;b=&#34;&gt;&lt;script&gt;"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The CSP allows exactly the page's inline script and style.
	for _, re := range []string{`(?s)<script>(.*?)</script>`, `(?s)<style>(.*?)</style>`} {
		m := regexp.MustCompile(re).FindStringSubmatch(page)
		if m == nil || !strings.Contains(csp, sriHash(m[1])) {
			t.Errorf("CSP %q does not allow the page's %s", csp, re)
		}
	}
	if !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9;") || res.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("CSP %q, Referrer-Policy %q", csp, res.header.Get("Referrer-Policy"))
	}
	// Without a confirm URL, or with one that is not http(s), no button works.
	for _, u := range []string{"", "javascript:alert(1)"} {
		c := newConsole(u, slog.New(slog.DiscardHandler))
		if !strings.Contains(string(c.page), `data-confirm=""`) || !strings.Contains(c.csp, "connect-src 'self';") {
			t.Errorf("confirm URL %q: page or CSP still names it", u)
		}
	}
}

func TestQRCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	png := fixturePNG(t)
	if err := e.db.SetQRCode(t.Context(), e.acct, png, time.Minute); err != nil {
		t.Fatal(err)
	}
	res := e.do(get("/openqq/get_qrcode"))
	if res.status != 200 || string(res.body) != string(png) || res.header.Get("Content-Type") != "image/png" || res.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("qrcode: %d %v", res.status, res.header)
	}
}

func TestCheckClientLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	other := e.acct + "-2"
	if err := e.db.AddAccount(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.DeleteAccount(context.Background(), other) })
	body := e.do(get("/openqq/check_client")).json(t)
	var mine, theirs map[string]any
	for _, c := range body["client"].([]any) {
		c := c.(map[string]any)
		switch c["account"] {
		case e.acct:
			mine = c
		case other:
			theirs = c
		}
	}
	if mine == nil || mine["state"] != string(openqq.StateRunning) || mine["alive"] != true {
		t.Errorf("own account: %v", mine)
	}
	if theirs == nil || theirs["state"] != nil || theirs["alive"] != false {
		t.Errorf("account without a connector: %v", theirs)
	}
}

func TestOptionsDefaults(t *testing.T) {
	db, _ := storetest.New(t)
	h := New(Options{Store: db})
	o := h.opts
	if o.Account != DefaultAccount || o.CommandTimeout != DefaultCommandTimeout || o.CheckEventTimeout != DefaultCheckEventTimeout ||
		o.HeartbeatTimeout != DefaultHeartbeatTimeout || o.MaxBodyBytes != DefaultMaxBodyBytes || o.LogLevel != "info" {
		t.Errorf("defaults: %+v", o)
	}
	defer func() {
		if recover() == nil {
			t.Error("New without a Store did not panic")
		}
	}()
	New(Options{})
}

// In the login states the connector writes no heartbeat: it counts as alive
// for client control and the login page, not for sends.
func TestAliveInLoginStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	e.connector(defaultAnswer)
	e.setState(openqq.StateScaning, time.Time{})
	if res := e.do(get("/openqq/get_client_info")); res.status != http.StatusOK || res.code(t) != 0 {
		t.Errorf("get_client_info while scanning: %d %s", res.status, res.body)
	}
	if c := e.do(get("/openqq/check_client?client=" + e.acct)).json(t)["client"].([]any)[0].(map[string]any); c["alive"] != true {
		t.Errorf("check_client while scanning: %v", c)
	}
	if res := e.do(get("/openqq/stop_client")); res.status != http.StatusOK || res.code(t) != 0 {
		t.Errorf("stop_client while scanning: %d %s", res.status, res.body)
	}
	if res := e.do(get("/openqq/send_friend_message?id=2457053936&content=x")); res.status != http.StatusServiceUnavailable {
		t.Errorf("send while scanning: %d %s", res.status, res.body)
	}
}
