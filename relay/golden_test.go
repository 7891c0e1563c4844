package relay

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

var update = flag.Bool("update", false, "rewrite relay/testdata/*.golden from the current answers")

// goldenCase is one request of a golden file; setup runs just before it.
type goldenCase struct {
	name  string
	req   request
	setup func(e *env)
}

// goldenSuite is one golden file: relay/testdata/<name>.golden.
type goldenSuite struct {
	opts  []envOption
	cases []goldenCase
}

func stale(e *env)   { e.setState(openqq.StateRunning, e.now.Add(-time.Minute)) }
func running(e *env) { e.setState(openqq.StateRunning, e.now) }
func scanning(e *env) {
	e.setState(openqq.StateScaning, e.now)
}

func pushPosts(e *env) {
	for _, p := range fixturePosts(e.t) {
		if err := e.db.PushCheckEvent(e.t.Context(), e.acct, p, 0); err != nil {
			e.t.Fatal(err)
		}
	}
}

func appendPosts(e *env) {
	for _, p := range fixturePosts(e.t) {
		if _, err := e.db.AppendEvent(e.t.Context(), e.acct, p); err != nil {
			e.t.Fatal(err)
		}
	}
}

// newcomer registers a second account, ACCOUNT-new, that has not logged
// in yet.
func newcomer(e *env) {
	acct := e.acct + "-new"
	if err := e.db.AddAccount(e.t.Context(), acct); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { e.db.DeleteAccount(context.Background(), acct) })
}

func jsonp(target string) request {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return get(target + sep + "datatype=jsonp&callback=jQuery1101_1475135588")
}

// goldenSuites holds every response shape of the API, JSON and JSONP; the
// shapes follow spec/API.md and spec §6.
var goldenSuites = map[string]goldenSuite{
	"get_user_info": {cases: []goldenCase{
		{name: "user", req: get("/openqq/get_user_info")},
		{name: "jsonp", req: jsonp("/openqq/get_user_info")},
		{name: "jsonp with the default callback", req: get("/openqq/get_user_info?datatype=jsonp")},
		{name: "another account, before its first login", req: get("/openqq/get_user_info?client=ACCOUNT-new"), setup: newcomer},
	}},
	"get_friend_info": {cases: []goldenCase{
		{name: "friends", req: get("/openqq/get_friend_info")},
		{name: "jsonp", req: jsonp("/openqq/get_friend_info")},
	}},
	"get_group_info": {cases: []goldenCase{
		{name: "groups with members", req: get("/openqq/get_group_info")},
		{name: "jsonp", req: jsonp("/openqq/get_group_info")},
	}},
	"get_group_basic_info": {cases: []goldenCase{
		{name: "groups without members", req: get("/openqq/get_group_basic_info")},
		{name: "jsonp", req: jsonp("/openqq/get_group_basic_info")},
	}},
	"get_discuss_info": {cases: []goldenCase{
		{name: "discussions", req: get("/openqq/get_discuss_info")},
		{name: "jsonp", req: jsonp("/openqq/get_discuss_info")},
	}},
	"search_friend": {cases: []goldenCase{
		{name: "by uid", req: get("/openqq/search_friend?uid=123456")},
		{name: "by name and category, ANDed", req: get("/openqq/search_friend?name=%E6%B5%8B%E8%AF%95%E5%B8%90%E5%8F%B72&category=%E6%88%91%E7%9A%84%E5%AE%B6%E4%BA%BA")},
		{name: "by displayname", req: postForm("/openqq/search_friend", "displayname=a%2Fb+%3Cc%3E+%26+d")},
		{name: "reserved keys ignored, JSONP", req: jsonp("/openqq/search_friend?markname=xxx&client=&_=1475135588&async=1&access_token=")},
		{name: "unknown keys ignored", req: get("/openqq/search_friend?uid=123456&colour=blue")},
		{name: "AND that matches nothing", req: get("/openqq/search_friend?uid=123456&name=%E6%B5%8B%E8%AF%95%E5%B8%90%E5%8F%B72")},
		{name: "no criteria", req: get("/openqq/search_friend")},
	}},
	"search_group": {cases: []goldenCase{
		{name: "by uid, with members", req: get("/openqq/search_group?uid=67890")},
		{name: "by alias gname", req: get("/openqq/search_group?gname=%E7%BE%A4%E5%90%8D")},
		{name: "jsonp", req: jsonp("/openqq/search_group?uid=67890")},
		{name: "not found", req: get("/openqq/search_group?uid=1")},
	}},
	"send_friend_message": {cases: []goldenCase{
		{name: "by id", req: get("/openqq/send_friend_message?id=2457053936&content=hello")},
		{name: "by uid, POST form", req: postForm("/openqq/send_friend_message", "uid=123456&content=%E4%BD%A0%E5%A5%BD")},
		{name: "by markname in displayname, POST JSON", req: postJSON("/openqq/send_friend_message", `{"displayname":"哈哈","content":"hi"}`)},
		{name: "JSON numbers select ids", req: postJSON("/openqq/send_friend_message", `{"id":2457053936,"content":"hi"}`)},
		{name: "async", req: get("/openqq/send_friend_message?id=2457053936&content=hello&async=1")},
		{name: "jsonp", req: jsonp("/openqq/send_friend_message?id=2457053936&content=hello")},
		{name: "not found", req: get("/openqq/send_friend_message?uid=1&content=hello")},
		{name: "no selector", req: get("/openqq/send_friend_message?content=hello")},
		{name: "empty selector selects nothing", req: get("/openqq/send_friend_message?uid=&content=hello")},
		{name: "empty content", req: get("/openqq/send_friend_message?id=2457053936&content=")},
		{name: "missing content, async", req: get("/openqq/send_friend_message?id=2457053936&async=1")},
		{name: "connector down", req: get("/openqq/send_friend_message?id=2457053936&content=hello"), setup: stale},
		{name: "connector not logged in", req: get("/openqq/send_friend_message?id=2457053936&content=hello"), setup: scanning},
	}},
	"send_group_message": {cases: []goldenCase{
		{name: "by uid", req: get("/openqq/send_group_message?uid=67890&content=hello")},
		{name: "by displayname (markname)", req: get("/openqq/send_group_message?displayname=%E6%88%91%E7%9A%84%E7%BE%A4&content=hello")},
		{name: "async", req: postForm("/openqq/send_group_message", "id=2617047292&content=hello&async=1")},
		{name: "not found", req: get("/openqq/send_group_message?name=nope&content=hello")},
		{name: "empty content", req: get("/openqq/send_group_message?uid=67890&content=")},
	}},
	"send_discuss_message": {cases: []goldenCase{
		{name: "by id", req: get("/openqq/send_discuss_message?id=4118239384&content=hello")},
		{name: "async sends", req: get("/openqq/send_discuss_message?id=4118239384&content=hello&async=1")},
		{name: "name is not a selector", req: get("/openqq/send_discuss_message?name=%E6%B5%8B%E8%AF%95&content=hello")},
		{name: "empty content", req: get("/openqq/send_discuss_message?id=4118239384&content=")},
	}},
	"send_sess_message": {cases: []goldenCase{
		{name: "through a group", req: get("/openqq/send_sess_message?group_id=2617047292&id=2832277643&content=hello")},
		{name: "through a group by numbers", req: get("/openqq/send_sess_message?group_uid=67890&uid=45678&content=hello")},
		{name: "through a discussion", req: get("/openqq/send_sess_message?discuss_id=4118239384&uid=789&content=hello")},
		{name: "group member not found", req: get("/openqq/send_sess_message?group_id=2617047292&id=1&content=hello")},
		{name: "group not found", req: get("/openqq/send_sess_message?group_uid=1&id=2832277643&content=hello")},
		{name: "discuss member not found", req: get("/openqq/send_sess_message?discuss_id=4118239384&id=1&content=hello")},
		{name: "neither group nor discussion", req: get("/openqq/send_sess_message?id=2832277643&content=hello")},
		{name: "empty content", req: get("/openqq/send_sess_message?group_id=2617047292&id=2832277643")},
	}},
	"kick_group_member": {cases: []goldenCase{
		{name: "by member ids", req: get("/openqq/kick_group_member?group_id=2617047292&member_id=2832277643")},
		{name: "by numbers", req: postForm("/openqq/kick_group_member", "group_uid=67890&member_uid=45678,456789")},
		{name: "group not found", req: get("/openqq/kick_group_member?group_uid=1&member_uid=45678")},
		{name: "member id empty", req: get("/openqq/kick_group_member?group_uid=67890&member_id=&member_uid=45678")},
		{name: "no member list", req: get("/openqq/kick_group_member?group_uid=67890")},
		{name: "member not found", req: get("/openqq/kick_group_member?group_uid=67890&member_uid=45678,999")},
	}},
	"shutup_group_member": {cases: []goldenCase{
		{name: "mute for two hours", req: get("/openqq/shutup_group_member?group_id=2617047292&member_id=2832277643&time=120")},
		{name: "group not found first", req: get("/openqq/shutup_group_member?group_uid=1&time=x")},
		{name: "time missing", req: get("/openqq/shutup_group_member?group_uid=67890&member_uid=45678")},
		{name: "time not digits", req: get("/openqq/shutup_group_member?group_uid=67890&member_uid=45678&time=1.5")},
		{name: "empty list", req: get("/openqq/shutup_group_member?group_uid=67890&time=1")},
		{name: "member not found", req: get("/openqq/shutup_group_member?group_uid=67890&member_uid=1&time=1")},
	}},
	"relogin": {cases: []goldenCase{
		{name: "relogin", req: get("/openqq/relogin")},
		{name: "while scanning", req: get("/openqq/relogin"), setup: scanning},
		{name: "connector down", req: get("/openqq/relogin"), setup: stale},
	}},
	"stop_client": {cases: []goldenCase{
		{name: "stop", req: get("/openqq/stop_client")},
		{name: "POST jsonp", req: request{method: http.MethodPost, target: "/openqq/stop_client?datatype=jsonp&callback=cb"}},
		{name: "connector down", req: get("/openqq/stop_client"), setup: stale},
	}},
	"get_client_info": {cases: []goldenCase{
		{name: "running", req: get("/openqq/get_client_info")},
		{name: "jsonp", req: jsonp("/openqq/get_client_info")},
		{name: "scanning", req: postForm("/openqq/get_client_info", ""), setup: scanning},
		{name: "connector down", req: get("/openqq/get_client_info"), setup: stale},
	}},
	"check_event": {cases: []goldenCase{
		{name: "buffered events", req: get("/openqq/check_event"), setup: pushPosts},
		{name: "nothing within the hold", req: get("/openqq/check_event")},
		{name: "jsonp", req: jsonp("/openqq/check_event"), setup: pushPosts},
		{name: "cursor from the start", req: get("/openqq/check_event?cursor=0"), setup: appendPosts},
		{name: "bad cursor", req: get("/openqq/check_event?cursor=x")},
	}},
	"get_qrcode": {cases: []goldenCase{
		{name: "none", req: get("/openqq/get_qrcode")},
		{name: "while scanning", req: get("/openqq/get_qrcode"), setup: func(e *env) {
			if err := e.db.SetQRCode(e.t.Context(), e.acct, fixturePNG(e.t), time.Minute); err != nil {
				e.t.Fatal(err)
			}
		}},
	}},
	"check_client": {cases: []goldenCase{
		{name: "one account", req: get("/openqq/check_client?client=ACCOUNT")},
		{name: "unknown account", req: get("/openqq/check_client?client=nobody")},
	}},
	"healthz": {cases: []goldenCase{
		{name: "healthy", req: get("/healthz")},
		{name: "not logged in", req: get("/healthz"), setup: scanning},
		{name: "connector down", req: get("/healthz"), setup: stale},
	}},
	"auth": {opts: []envOption{withTokens("s3cret,viewer:ro")}, cases: []goldenCase{
		{name: "no token", req: get("/openqq/get_user_info")},
		{name: "wrong token, jsonp", req: jsonp("/openqq/get_user_info?access_token=nope")},
		{name: "bearer", req: request{method: http.MethodGet, target: "/openqq/get_user_info", header: map[string]string{"Authorization": "Bearer s3cret"}}},
		{name: "read-only token may poll", req: get("/openqq/check_event?access_token=viewer")},
		{name: "read-only token may not send", req: request{method: http.MethodGet, target: "/openqq/send_friend_message?id=2457053936&content=x", header: map[string]string{"X-Auth-Token": "viewer"}}},
		{name: "preflight needs no token", req: request{method: http.MethodOptions, target: "/openqq/send_friend_message"}},
		{name: "healthz needs no token", req: get("/healthz")},
		{name: "metrics need one", req: get("/metrics")},
	}},
	"errors": {cases: []goldenCase{
		{name: "unknown route", req: get("/openqq/nope")},
		{name: "wrong method", req: postForm("/openqq/get_user_info", "")},
		{name: "relogin is GET only", req: postForm("/openqq/relogin", "")},
		{name: "preflight", req: request{method: http.MethodOptions, target: "/anything"}},
		{name: "malformed JSON body", req: postJSON("/openqq/send_friend_message", `{"id":`)},
		{name: "JSON body not an object", req: postJSON("/openqq/send_friend_message", `["id"]`)},
		{name: "body too large", req: postForm("/openqq/send_friend_message", "content="+strings.Repeat("x", 1<<20))},
		{name: "unsafe callback", req: get("/openqq/get_user_info?datatype=jsonp&callback=alert(1)//")},
		{name: "unknown client", req: get("/openqq/get_user_info?client=nobody")},
		{name: "client that cannot be an account", req: get("/openqq/get_user_info?client=%7Bx%7D")},
	}},
}

func TestGolden(t *testing.T) {
	t.Parallel()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range goldenSuites {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		suite := goldenSuites[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", name+".golden")
			got := runGolden(t, suite, false)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./relay -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (review, then go test ./relay -update):\n%s", path, diff(string(want), got))
			}
			// The Lambda adapter must serve the very same answers.
			if viaLambda := runGolden(t, suite, true); viaLambda != got {
				t.Errorf("through Lambda, %s differs:\n%s", name, diff(got, viaLambda))
			}
		})
	}
}

// runGolden runs a suite on a fresh seeded relay with a test connector and
// renders every answer.
func runGolden(t *testing.T, suite goldenSuite, viaLambda bool) string {
	e := newEnvOver(t, viaLambda, suite.opts...).seed()
	e.connector(defaultAnswer)
	var b strings.Builder
	for _, c := range suite.cases {
		if c.setup != nil {
			c.setup(e)
		}
		c.req.target = strings.ReplaceAll(c.req.target, "ACCOUNT", e.acct)
		res := e.do(c.req)
		fmt.Fprintf(&b, "### %s\n%s %s\n", c.name, c.req.method, abbreviate(c.req.target))
		if c.req.body != "" {
			fmt.Fprintf(&b, "%s\n%s\n", c.req.contentType, abbreviate(c.req.body))
		}
		b.WriteString(renderResponse(res))
		b.WriteString("\n")
		if c.setup != nil {
			running(e) // later cases see a running connector again
		}
	}
	return strings.ReplaceAll(b.String(), e.acct, "default")
}

var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// renderResponse writes the status, the headers that matter and the body.
func renderResponse(r response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", r.status)
	for _, k := range []string{
		"Content-Type", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
		"Access-Control-Allow-Headers", "Cache-Control", "WWW-Authenticate", CursorHeader,
	} {
		v := r.header.Get(k)
		if k == CursorHeader && streamID.MatchString(v) {
			v = "<stream id>"
		}
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	switch ct := r.header.Get("Content-Type"); {
	case ct == "image/png":
		fmt.Fprintf(&b, "<%d bytes of PNG>\n", len(r.body))
	case strings.HasPrefix(ct, "text/plain"): // /metrics
		fmt.Fprintf(&b, "<%d bytes of metrics>\n", len(r.body))
	case len(r.body) > 0:
		b.WriteString(string(r.body))
		b.WriteString("\n")
	}
	return b.String()
}

func abbreviate(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s… (%d bytes)", s[:60], len(s))
	}
	return s
}

// diff shows the first differing line of two renderings.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, wl, gl)
		}
	}
	return "(same lines)"
}
