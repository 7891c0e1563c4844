package main

// Full-stack tests: real HTTP → relay → Redis → connector → webqq client →
// sandbox over real HTTP, started in-process the way `openqq up` starts it
// (startUp, then Run). Redis is OPENQQ_TEST_REDIS_URL when set, else an
// embedded one. Tests wait for conditions with bounded polling, never for
// durations.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

var updateGoldens = flag.Bool("update", false, "rewrite the golden files under testdata")

// waitBound is how long a test waits for a condition before it fails.
const waitBound = 30 * time.Second

// stackEnv is the environment of a test stack: listeners on free loopback
// ports, a fresh account, a small sandbox world, sends without spacing and
// short check_event holds; kv overrides.
func stackEnv(t testing.TB, kv ...string) map[string]string {
	env := map[string]string{
		"OPENQQ_LISTEN":                    "127.0.0.1:0",
		"OPENQQ_SANDBOX_LISTEN":            "127.0.0.1:0",
		"OPENQQ_ACCOUNT":                   storetest.Account(t),
		"OPENQQ_SEND_INTERVAL":             "0s",
		"OPENQQ_SANDBOX_FRIENDS":           "4",
		"OPENQQ_SANDBOX_GROUPS":            "3",
		"OPENQQ_SANDBOX_MEMBERS_PER_GROUP": "6",
		"OPENQQ_SANDBOX_DISCUSSES":         "1",
		"OPENQQ_SANDBOX_DISCUSS_MEMBERS":   "3",
		"OPENQQ_SANDBOX_POLL_HOLD":         "5s",
		"OPENQQ_SANDBOX_AUTO_CONFIRM":      "50ms",
		"OPENQQ_CHECK_EVENT_TIMEOUT":       "2s",
		// The concurrent pollers test pushes faster than one poll takes.
		"OPENQQ_CHECK_EVENT_MAX": "1000",
	}
	if u := os.Getenv(storetest.EnvURL); u != "" {
		env["OPENQQ_REDIS_URL"] = u
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// testStack is one stack running in the test.
type testStack struct {
	*upStack
	url    string // the relay's base URL
	acct   string
	stderr *lockedBuffer
	token  string // sent as a Bearer token when set
	// cancelRun stops the stack as SIGTERM would; done closes when Run
	// has returned.
	cancelRun context.CancelFunc
	done      chan struct{}
	err       error // Run's result, once done is closed
}

// startStack starts the stack of env and stops it at cleanup.
func startStack(t *testing.T, env map[string]string) *testStack {
	t.Helper()
	ts := &testStack{stderr: &lockedBuffer{}, acct: env["OPENQQ_ACCOUNT"], done: make(chan struct{})}
	s, err := startUp(t.Context(), upOptions{
		Environ:       env,
		Stderr:        ts.stderr,
		Logger:        stackLogger(t),
		tuneConnector: func(o *connector.Options) { o.HeartbeatInterval = 200 * time.Millisecond },
		tuneClient: func(o *webqq.Options) {
			o.QRPollInterval = 20 * time.Millisecond
			o.PollPause = webqq.NoDelay
		},
	})
	if err != nil {
		t.Fatalf("startUp: %v", err)
	}
	ts.upStack, ts.url = s, s.relayURL
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	ts.cancelRun = cancel
	go func() { ts.err = s.Run(ctx); close(ts.done) }()
	t.Cleanup(func() {
		cancel()
		<-ts.done
		if u := env["OPENQQ_REDIS_URL"]; u != "" { // a shared server: leave nothing behind
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if db, err := store.Open(ctx, store.Options{URL: u}); err == nil {
				db.DeleteAccount(ctx, ts.acct)
				db.Close()
			}
		}
	})
	return ts
}

func stackLogger(t testing.TB) *slog.Logger {
	lvl := slog.LevelWarn
	if testing.Verbose() {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: lvl}))
}

// waitRunning waits until /healthz says the client is logged in.
func (ts *testStack) waitRunning(t testing.TB) {
	t.Helper()
	eventually(t, "the client to run", func() bool { return ts.get(t, "/healthz").status == http.StatusOK })
}

// eventually polls cond until it holds, failing the test after waitBound.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answer is one HTTP response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET path (with its query) to the relay.
func (ts *testStack) get(t testing.TB, path string) answer {
	t.Helper()
	return ts.do(t, http.MethodGet, path, "", nil)
}

// post sends a urlencoded form to the relay.
func (ts *testStack) post(t testing.TB, path string, form url.Values) answer {
	t.Helper()
	return ts.do(t, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func (ts *testStack) do(t testing.TB, method, path, contentType string, body io.Reader) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	a, err := ts.fetch(ctx, method, path, contentType, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fetch sends one request; it may run in any goroutine. hdr adds headers.
func (ts *testStack) fetch(ctx context.Context, method, path, contentType string, body io.Reader, hdr http.Header) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, ts.url+path, body)
	if err != nil {
		return answer{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if ts.token != "" {
		req.Header.Set("Authorization", "Bearer "+ts.token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}, nil
}

// json decodes the body, numbers kept as json.Number.
func (a answer) json(t testing.TB) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(a.body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, a.body)
	}
	return v
}

// array decodes a JSON array of objects.
func (a answer) array(t testing.TB) []any {
	t.Helper()
	v, ok := a.json(t).([]any)
	if !ok {
		t.Fatalf("want a JSON array, got %s", a.body)
	}
	return v
}

func (a answer) object(t testing.TB) map[string]any {
	t.Helper()
	v, ok := a.json(t).(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %s", a.body)
	}
	return v
}

// wantResult checks an Openqq result (HTTP status, code and status text)
// and returns it.
func (a answer) wantResult(t testing.TB, httpStatus, code int, status string) map[string]any {
	t.Helper()
	if a.status != httpStatus {
		t.Errorf("HTTP %d, want %d: %s", a.status, httpStatus, a.body)
	}
	o := a.object(t)
	if o["code"] != json.Number(strconv.Itoa(code)) || o["status"] != status {
		t.Errorf("got %s, want code %d status %q", a.body, code, status)
	}
	return o
}

// shape replaces every value of a JSON document by the name of its type.
// An array becomes one element, the merge of its elements' shapes: a key
// some elements lack reads "absent|…", types that differ "a|b".
func jsonShape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonShape(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		m := jsonShape(v[0])
		for _, e := range v[1:] {
			m = mergeShapes(m, jsonShape(e))
		}
		return []any{m}
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func mergeShapes(a, b any) any {
	ma, aok := a.(map[string]any)
	mb, bok := b.(map[string]any)
	if aok && bok {
		out := make(map[string]any)
		for k, x := range ma {
			y, ok := mb[k]
			if !ok {
				y = "absent"
			}
			out[k] = mergeShapes(x, y)
		}
		for k, y := range mb {
			if _, ok := ma[k]; !ok {
				out[k] = mergeShapes("absent", y)
			}
		}
		return out
	}
	la, aok := a.([]any)
	lb, bok := b.([]any)
	if aok && bok {
		switch {
		case len(la) == 0:
			return lb
		case len(lb) == 0:
			return la
		}
		return []any{mergeShapes(la[0], lb[0])}
	}
	sa, aok := a.(string)
	sb, bok := b.(string)
	if !aok || !bok {
		return fmt.Sprintf("mixed(%v|%v)", a, b)
	}
	set := map[string]bool{}
	for _, s := range append(strings.Split(sa, "|"), strings.Split(sb, "|")...) {
		set[s] = true
	}
	names := make([]string, 0, len(set))
	for s := range set {
		names = append(names, s)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// golden compares v's shape with testdata/stack/<name>.golden; -update
// rewrites it.
func checkGolden(t testing.TB, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(jsonShape(v), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	for where, keys := range apiKeys[name] {
		checkKeys(t, name+where, descend(jsonShape(v), where), keys)
	}
	path := filepath.Join("testdata", "stack", name+".golden")
	if *updateGoldens {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/openqq -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("shape of %s differs from %s:\n--- want\n%s--- got\n%s", name, path, want, got)
	}
}

// apiKeys are the keys of spec/API.md's examples, by golden name and path
// in its shape ("" the document, ".member" its members): the answers must
// have them. Group members lack qage and bad_record, which the original
// stopped loading (spec §4.4).
var apiKeys = map[string]map[string][]string{
	"get_user_info": {"": {"name", "mobile", "state", "client_type", "email", "city", "personal", "province", "id",
		"birthday", "sex", "country", "uid", "account", "college", "occupation", "phone", "homepage", "blood", "signature"}},
	"get_friend_info":      {"": friendKeys},
	"search_friend":        {"": friendKeys},
	"get_group_info":       {"": groupKeys, ".member": memberKeys},
	"search_group":         {"": groupKeys, ".member": memberKeys},
	"get_group_basic_info": {"": slices.DeleteFunc(slices.Clone(groupKeys), func(k string) bool { return k == "member" })},
	"get_discuss_info":     {"": {"name", "id", "owner_id", "member"}, ".member": {"id", "name", "state", "client_type", "uid"}},
	"send_message":         {"": {"status", "id", "code", "info"}},
	"get_client_info": {"": {"code", "account", "log_encoding", "log_level", "log_path", "os", "pid", "runtime",
		"starttime", "status", "http_debug", "version"}},
	"check_event_friend_message":  {"": messageKeys},
	"check_event_group_message":   {"": append(slices.Clone(messageKeys), "group", "group_id", "group_uid", "sender_id", "sender_uid")},
	"check_event_discuss_message": {"": messageKeys},
}

var (
	friendKeys  = []string{"is_vip", "uid", "markname", "flag", "name", "state", "client_type", "face", "vip_level", "category", "id"}
	groupKeys   = []string{"markname", "id", "uid", "code", "name", "role", "createtime", "owner_id", "owner_uid", "max_member", "max_admin", "member"}
	memberKeys  = []string{"name", "join_time", "state", "client_type", "city", "province", "id", "sex", "country", "uid", "last_speak_time", "role"}
	messageKeys = []string{"class", "content", "id", "post_type", "receiver", "receiver_id", "receiver_uid", "sender", "time", "type"}
)

// descend follows a path of keys through a shape, stepping into arrays.
func descend(v any, path string) any {
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		if l, ok := v.([]any); ok && len(l) == 1 {
			v = l[0]
		}
		if k != "" {
			m, _ := v.(map[string]any)
			v = m[k]
		}
	}
	return v
}

// checkKeys fails for each key that the object (or the element of an
// array) of a shape lacks.
func checkKeys(t testing.TB, where string, v any, keys []string) {
	t.Helper()
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: %v is not an object", where, v)
		return
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no %q, which spec/API.md shows", where, k)
		}
	}
}

// checkIDTypes enforces the JSON types of spec/API.md's examples on a
// contact or message document: ids, uids and times are strings (or null
// when unknown), never numbers.
func checkIDTypes(t testing.TB, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if isIDKey(k) {
				if _, ok := e.(json.Number); ok {
					t.Errorf("%s.%s is the number %v; API.md shows ids, uids and times as strings", where, k, e)
				}
			}
			checkIDTypes(t, where+"."+k, e)
		}
	case []any:
		for i, e := range v {
			checkIDTypes(t, fmt.Sprintf("%s[%d]", where, i), e)
		}
	}
}

func isIDKey(k string) bool {
	return k == "id" || k == "uid" || strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_uid") ||
		strings.HasSuffix(k, "time")
}

// lockedBuffer is a bytes.Buffer safe for the stack's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sentWith finds the message the sandbox accepted with text.
func sentWith(sb *sandbox.Server, text string) (sandbox.SentMessage, bool) {
	for _, m := range sb.Sent() {
		if m.Text == text {
			return m, true
		}
	}
	return sandbox.SentMessage{}, false
}

func decimal(n int64) string { return strconv.FormatInt(n, 10) }

// stackWorld is what the tests pick their ids from.
type stackWorld struct {
	sandbox.World
	friend, friend2 sandbox.Friend
	create, manage  sandbox.Group // groups the account created and manages
	attend          sandbox.Group // one it only attends
	discuss         sandbox.Discuss
}

func pickWorld(t testing.TB, sb *sandbox.Server) stackWorld {
	t.Helper()
	w := stackWorld{World: sb.World()}
	var ok [3]bool
	w.create, ok[0] = w.GroupWithRole("create")
	w.manage, ok[1] = w.GroupWithRole("manage")
	w.attend, ok[2] = w.GroupWithRole("attend")
	if ok != [3]bool{true, true, true} || len(w.Friends) < 2 || len(w.Discusses) == 0 {
		t.Fatalf("the sandbox world lacks a group role, friends or a discussion: %+v", w.World)
	}
	w.friend, w.friend2, w.discuss = w.Friends[0], w.Friends[1], w.Discusses[0]
	return w
}

// members returns the members of g with role, the account left out.
func (w stackWorld) members(g sandbox.Group, role string) []sandbox.Member {
	var out []sandbox.Member
	for _, m := range g.Members {
		if m.Role == role && m.ID != w.Self.ID {
			out = append(out, m)
		}
	}
	return out
}

// otherDiscussMember is a member of the discussion that is not the account.
func (w stackWorld) otherDiscussMember() sandbox.DiscussMember {
	for _, m := range w.discuss.Members {
		if m.ID != w.Self.ID {
			return m
		}
	}
	panic("discussion without other members")
}

// TestStack runs every Openqq endpoint against one stack that logs in by
// itself (auto-confirm), with a post_api receiver and a poll_api server;
// stop_client comes last and ends it.
func TestStack(t *testing.T) {
	hooks := newWebhookReceiver(t)
	poll := newPollServer(t)
	redisURL := storetest.URL(t) // outlives the stack: the connector-down checks read it after
	ts := startStack(t, stackEnv(t,
		"OPENQQ_REDIS_URL", redisURL,
		"OPENQQ_POST_API", hooks.URL(),
		"OPENQQ_POLL_API", poll.URL(),
		"OPENQQ_POLL_INTERVAL", "100ms",
		"OPENQQ_SANDBOX_PASSWORD", "stack-s3cret", // the client logs in to ext with it too
	))
	ts.waitRunning(t)
	w := pickWorld(t, ts.sandbox)

	t.Run("contacts", func(t *testing.T) { testContacts(t, ts, w) })
	t.Run("send", func(t *testing.T) { testSend(t, ts, w) })
	t.Run("send errors", func(t *testing.T) { testSendErrors(t, ts, w) })
	t.Run("search", func(t *testing.T) { testSearch(t, ts, w) })
	t.Run("check_event one poller", func(t *testing.T) { testCheckEventOne(t, ts, w) })
	t.Run("check_event ten pollers", func(t *testing.T) { testCheckEventTen(t, ts, w) })
	t.Run("check_event cursor", func(t *testing.T) { testCheckEventCursor(t, ts, w) })
	t.Run("post_api", func(t *testing.T) { testPostAPI(t, ts, w, hooks) })
	t.Run("poll_api", func(t *testing.T) { testPollAPI(t, ts, w, poll) })
	t.Run("metrics", func(t *testing.T) { checkMetrics(t, ts, true) })
	t.Run("kick and shutup", func(t *testing.T) { testKickShutup(t, ts, w) })
	t.Run("get_client_info", func(t *testing.T) { testClientInfo(t, ts) })
	t.Run("relogin", func(t *testing.T) { testRelogin(t, ts, hooks) })
	t.Run("stop_client", func(t *testing.T) { testStopClient(t, ts, hooks) })
	t.Run("connector down", func(t *testing.T) { testConnectorDown(t, ts.acct, redisURL, w) })
}

func testContacts(t *testing.T, ts *testStack, w stackWorld) {
	for _, api := range []string{"get_user_info", "get_friend_info", "get_group_info", "get_group_basic_info", "get_discuss_info"} {
		t.Run(api, func(t *testing.T) {
			a := ts.get(t, "/openqq/"+api)
			if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("HTTP %d %s: %s", a.status, a.header.Get("Content-Type"), a.body)
			}
			v := a.json(t)
			checkIDTypes(t, api, v)
			checkGolden(t, api, v)
		})
	}

	user := ts.get(t, "/openqq/get_user_info").object(t)
	if user["id"] != decimal(w.Self.ID) || user["uid"] != decimal(w.Self.UID) || user["name"] != w.Self.Nick {
		t.Errorf("user %v, want the sandbox's account %+v", user, w.Self)
	}
	friends := ts.get(t, "/openqq/get_friend_info").array(t)
	if len(friends) != len(w.Friends) {
		t.Errorf("%d friends, the sandbox has %d", len(friends), len(w.Friends))
	}
	for i, f := range w.Friends {
		if got := friends[i].(map[string]any); got["id"] != decimal(f.ID) || got["uid"] != decimal(f.UID) || got["name"] != f.Nick {
			t.Errorf("friend %d: %v, want %+v", i, got, f)
		}
	}
	groups := ts.get(t, "/openqq/get_group_info").array(t)
	basic := ts.get(t, "/openqq/get_group_basic_info").array(t)
	if len(groups) != len(w.Groups) || len(basic) != len(w.Groups) {
		t.Fatalf("%d groups (%d basic), the sandbox has %d", len(groups), len(basic), len(w.Groups))
	}
	for i, g := range w.Groups {
		got := groups[i].(map[string]any)
		members, _ := got["member"].([]any)
		if got["id"] != decimal(g.ID) || got["uid"] != decimal(g.UID) || got["role"] != g.Role || len(members) != len(g.Members) {
			t.Errorf("group %d: id %v uid %v role %v with %d members, want %+v", i, got["id"], got["uid"], got["role"], len(members), g)
		}
		if _, ok := basic[i].(map[string]any)["member"]; ok {
			t.Errorf("get_group_basic_info lists the members of group %d", i)
		}
	}
	discusses := ts.get(t, "/openqq/get_discuss_info").array(t)
	if len(discusses) != 1 || discusses[0].(map[string]any)["id"] != decimal(w.discuss.ID) {
		t.Errorf("discussions %v, want the sandbox's %d", discusses, w.discuss.ID)
	}

	plain := ts.get(t, "/openqq/get_friend_info").body
	jsonp := ts.get(t, "/openqq/get_friend_info?datatype=jsonp&callback=cb_1")
	if want := "cb_1(" + string(plain) + ")"; string(jsonp.body) != want {
		t.Errorf("JSONP body %s, want %s", jsonp.body, want)
	}
}

// sendCase is one target of a send endpoint.
type sendCase struct {
	name   string
	api    string
	params url.Values
	typ    string // the sandbox's SentMessage.Type
	to     int64
	via    int64 // sess: the group or discussion
}

func sendCases(w stackWorld) []sendCase {
	gm := w.members(w.create, "member")[0]
	dm := w.otherDiscussMember()
	return []sendCase{
		{"friend by id", "send_friend_message", url.Values{"id": {decimal(w.friend.ID)}}, "friend", w.friend.ID, 0},
		{"friend by uid", "send_friend_message", url.Values{"uid": {decimal(w.friend.UID)}}, "friend", w.friend.ID, 0},
		{"friend by name", "send_friend_message", url.Values{"name": {w.friend2.Nick}}, "friend", w.friend2.ID, 0},
		{"group by id", "send_group_message", url.Values{"id": {decimal(w.create.ID)}}, "group", w.create.ID, 0},
		{"group by uid", "send_group_message", url.Values{"uid": {decimal(w.attend.UID)}}, "group", w.attend.ID, 0},
		{"discuss", "send_discuss_message", url.Values{"id": {decimal(w.discuss.ID)}}, "discuss", w.discuss.ID, 0},
		{"sess via group", "send_sess_message", url.Values{"group_id": {decimal(w.create.ID)}, "id": {decimal(gm.ID)}}, "sess", gm.ID, w.create.ID},
		{"sess via group numbers", "send_sess_message", url.Values{"group_uid": {decimal(w.create.UID)}, "uid": {decimal(gm.UID)}}, "sess", gm.ID, w.create.ID},
		{"sess via discussion", "send_sess_message", url.Values{"discuss_id": {decimal(w.discuss.ID)}, "id": {decimal(dm.ID)}}, "sess", dm.ID, w.discuss.ID},
	}
}

func testSend(t *testing.T, ts *testStack, w stackWorld) {
	for _, c := range sendCases(w) {
		t.Run(c.name, func(t *testing.T) {
			// Sync by GET: answered once the sandbox accepted it.
			q := cloneValues(c.params)
			q.Set("content", "sync "+c.name+" 你好")
			a := ts.get(t, "/openqq/"+c.api+"?"+q.Encode())
			checkSendResult(t, a)
			checkSent(t, ts.sandbox, q.Get("content"), c)

			// async=1 by POST: answered at once, sent soon after. Sess
			// messages have no async mode (spec §6.8): answered when sent.
			f := cloneValues(c.params)
			f.Set("content", "async "+c.name)
			f.Set("async", "1")
			a = ts.post(t, "/openqq/"+c.api, f)
			if c.typ == "sess" {
				checkSendResult(t, a)
			} else if o := a.wantResult(t, http.StatusOK, 0, "request already in execution"); len(o) != 2 {
				t.Errorf("async answer %s has more than code and status", a.body)
			}
			eventually(t, "the async message in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, f.Get("content")); return ok })
			checkSent(t, ts.sandbox, f.Get("content"), c)
		})
	}
}

// checkSendResult checks the send answer of spec/API.md:
// {"id":<number>,"code":0,"status":"发送成功","info":"发送正常"}.
func checkSendResult(t testing.TB, a answer) {
	t.Helper()
	o := a.wantResult(t, http.StatusOK, 0, "发送成功")
	if _, ok := o["id"].(json.Number); !ok || o["info"] != "发送正常" || len(o) != 4 {
		t.Errorf("send result %s, want {id:<number>, code:0, status, info:发送正常}", a.body)
	}
	checkGolden(t, "send_message", o)
}

func checkSent(t testing.TB, sb *sandbox.Server, text string, c sendCase) {
	t.Helper()
	m, ok := sentWith(sb, text)
	switch {
	case !ok:
		t.Errorf("the sandbox did not get %q", text)
	case m.Type != c.typ || m.To != c.to || m.Via != c.via:
		t.Errorf("the sandbox got %q as %s to %d via %d, want %s to %d via %d", text, m.Type, m.To, m.Via, c.typ, c.to, c.via)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func testSendErrors(t *testing.T, ts *testStack, w stackWorld) {
	gm := w.members(w.create, "member")[0]
	dm := w.otherDiscussMember()
	sent := len(ts.sandbox.Sent())
	notFound := []struct {
		query  string
		code   int
		status string
	}{
		{"send_friend_message?id=1&content=x", 100, "friend not found"},
		{"send_friend_message?content=x", 100, "friend not found"},
		{"send_friend_message?id=1&content=x&async=1", 100, "friend not found"},
		{"send_group_message?id=1&content=x", 101, "group not found"},
		{"send_group_message?uid=1&content=x&async=1", 101, "group not found"},
		{"send_discuss_message?id=1&content=x", 102, "discuss not found"},
		{"send_sess_message?group_id=" + decimal(w.create.ID) + "&id=1&content=x", 103, "group member not found"},
		{"send_sess_message?group_id=1&id=" + decimal(gm.ID) + "&content=x", 103, "group member not found"},
		{"send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=1&content=x", 104, "discuss member not found"},
		{"send_sess_message?id=" + decimal(gm.ID) + "&content=x", 105, "discuss member or group member  not found"},
	}
	for _, c := range notFound {
		a := ts.get(t, "/openqq/"+c.query)
		if o := a.wantResult(t, http.StatusOK, c.code, c.status); o["id"] != nil || len(o) != 3 {
			t.Errorf("%s: %s, want \"id\":null with code and status", c.query, a.body)
		}
	}
	// [GO] spec §6.5: empty content answers 400, sync and async.
	for _, c := range []string{
		"send_friend_message?id=" + decimal(w.friend.ID),
		"send_friend_message?id=" + decimal(w.friend.ID) + "&content=",
		"send_friend_message?id=" + decimal(w.friend.ID) + "&content=&async=1",
		"send_group_message?id=" + decimal(w.create.ID) + "&content=",
		"send_discuss_message?id=" + decimal(w.discuss.ID) + "&async=1",
		"send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=" + decimal(dm.ID) + "&content=",
	} {
		ts.get(t, "/openqq/"+c).wantResult(t, http.StatusOK, 400, "content missing")
	}
	if n := len(ts.sandbox.Sent()); n != sent {
		t.Errorf("the sandbox got %d messages from failed sends", n-sent)
	}
}

func testSearch(t *testing.T, ts *testStack, w stackWorld) {
	a := ts.get(t, "/openqq/search_friend?uid="+decimal(w.friend.UID))
	found := a.array(t)
	if len(found) != 1 || found[0].(map[string]any)["id"] != decimal(w.friend.ID) {
		t.Fatalf("search_friend by uid: %s", a.body)
	}
	checkIDTypes(t, "search_friend", found)
	checkGolden(t, "search_friend", found)

	// Reserved keys are not criteria ([GO] spec §6.9: the original died).
	a = ts.get(t, "/openqq/search_friend?id="+decimal(w.friend.ID)+"&datatype=jsonp&callback=jQuery_1&_=1475135588&client="+ts.acct)
	if !bytes.HasPrefix(a.body, []byte("jQuery_1([{")) || !bytes.Contains(a.body, []byte(`"id":"`+decimal(w.friend.ID)+`"`)) {
		t.Errorf("search_friend as JSONP: %s", a.body)
	}
	// Criteria are ANDed; no criterion, or only reserved or unknown
	// keys, finds nothing.
	for _, q := range []string{
		"name=" + url.QueryEscape(w.friend.Nick) + "&uid=1",
		"",
		"datatype=json",
		"no_such_key=1",
	} {
		ts.get(t, "/openqq/search_friend?"+q).wantResult(t, http.StatusOK, 100, "object not found")
	}

	a = ts.post(t, "/openqq/search_group", url.Values{"uid": {decimal(w.create.UID)}})
	groups := a.array(t)
	if len(groups) != 1 || groups[0].(map[string]any)["id"] != decimal(w.create.ID) {
		t.Fatalf("search_group by uid: %s", a.body)
	}
	if members, _ := groups[0].(map[string]any)["member"].([]any); len(members) != len(w.create.Members) {
		t.Errorf("search_group lists %d members, the group has %d", len(members), len(w.create.Members))
	}
	checkIDTypes(t, "search_group", groups)
	checkGolden(t, "search_group", groups)
	a = ts.get(t, "/openqq/search_group?name="+url.QueryEscape(w.manage.Name)+"&datatype=jsonp&callback=cb")
	if !bytes.HasPrefix(a.body, []byte("cb([{")) || !bytes.Contains(a.body, []byte(`"uid":"`+decimal(w.manage.UID)+`"`)) {
		t.Errorf("search_group as JSONP: %s", a.body)
	}
	ts.get(t, "/openqq/search_group?uid=1").wantResult(t, http.StatusOK, 100, "object not found")
}

// incoming is one message to inject, and how check_event must show it.
type incoming struct {
	msg  sandbox.Message
	kind string // the post's type
}

// incomings returns n messages with texts prefix-00…, from a friend, a
// group member and a discussion member in turn.
func incomings(w stackWorld, prefix string, n int) []incoming {
	gm := w.members(w.attend, "member")[0]
	dm := w.otherDiscussMember()
	out := make([]incoming, n)
	for i := range out {
		text := fmt.Sprintf("%s-%02d", prefix, i)
		switch i % 3 {
		case 0:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageFriend, From: w.friend.ID, Text: text}, "friend_message"}
		case 1:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageGroup, From: gm.ID, Group: w.attend.ID, Text: text}, "group_message"}
		default:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageDiscuss, From: dm.ID, Discuss: w.discuss.ID, Text: text}, "discuss_message"}
		}
	}
	return out
}

func pushAll(t testing.TB, sb *sandbox.Server, in []incoming) {
	t.Helper()
	for _, m := range in {
		if _, err := sb.Push(m.msg); err != nil {
			t.Fatalf("push %+v: %v", m.msg, err)
		}
	}
}

// tally counts the received messages whose content starts with prefix in
// check_event answers, and every item that is not an object ([null]).
type tally struct {
	prefix string
	mu     sync.Mutex // guards the fields below
	seen   map[string]int
	posts  map[string]map[string]any // by content
	bad    []string
}

func newTally(prefix string) *tally {
	return &tally{prefix: prefix, seen: map[string]int{}, posts: map[string]map[string]any{}}
}

func (c *tally) add(body []byte) {
	var items []any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	err := d.Decode(&items)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.bad = append(c.bad, string(body))
		return
	}
	for _, it := range items {
		p, ok := it.(map[string]any)
		if !ok {
			c.bad = append(c.bad, string(body))
			continue
		}
		if content, _ := p["content"].(string); p["post_type"] == "receive_message" && strings.HasPrefix(content, c.prefix) {
			c.seen[content]++
			c.posts[content] = p
		}
	}
}

func (c *tally) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// check fails unless every message of in was seen exactly once, as its
// type, and no answer held a null or a non-object.
func (c *tally) check(t testing.TB, in []incoming) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bad {
		t.Errorf("check_event answered %s", b)
	}
	for _, m := range in {
		if n := c.seen[m.msg.Text]; n != 1 {
			t.Errorf("%q delivered %d times", m.msg.Text, n)
		} else if p := c.posts[m.msg.Text]; p["type"] != m.kind || p["class"] != "recv" {
			t.Errorf("%q came as %v/%v, want %s", m.msg.Text, p["type"], p["class"], m.kind)
		}
	}
}

func testCheckEventOne(t *testing.T, ts *testStack, w stackWorld) {
	in := incomings(w, "one", 6)
	pushAll(t, ts.sandbox, in)
	c := newTally("one-")
	eventually(t, "every message through check_event", func() bool {
		a := ts.get(t, "/openqq/check_event")
		if a.status != http.StatusOK {
			t.Fatalf("check_event: HTTP %d: %s", a.status, a.body)
		}
		c.add(a.body)
		return c.count() == len(in)
	})
	c.check(t, in)
	for _, m := range in[:3] {
		p := c.posts[m.msg.Text]
		checkIDTypes(t, m.kind, p)
		checkGolden(t, "check_event_"+m.kind, p)
	}
}

// testCheckEventTen polls with ten clients at once: every message goes to
// exactly one of them, and none is answered [null] ([GO] spec §7.3).
func testCheckEventTen(t *testing.T, ts *testStack, w stackWorld) {
	in := incomings(w, "ten", 45)
	c := newTally("ten-")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for ctx.Err() == nil {
				a, err := ts.fetch(ctx, http.MethodGet, "/openqq/check_event", "", nil, nil)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					t.Errorf("poller: %v", err)
					return
				case a.status != http.StatusOK:
					t.Errorf("poller: HTTP %d: %s", a.status, a.body)
					return
				default:
					c.add(a.body)
				}
			}
		})
	}
	pushAll(t, ts.sandbox, in[:15])
	eventually(t, "the first batch", func() bool { return c.count() >= 15 })
	pushAll(t, ts.sandbox, in[15:])
	eventually(t, "every message through the pollers", func() bool { return c.count() == len(in) })
	cancel()
	wg.Wait()
	c.check(t, in)
}

// testCheckEventCursor reads the events stream with two cursors: each sees
// every event, in order.
func testCheckEventCursor(t *testing.T, ts *testStack, w stackWorld) {
	cursor := "0"
	for { // catch up with the stream; an empty read means the end
		a := ts.get(t, "/openqq/check_event?cursor="+cursor+"&count=1000")
		next := a.header.Get("X-Openqq-Cursor")
		if a.status != http.StatusOK || next == "" {
			t.Fatalf("cursor read: HTTP %d, cursor %q: %s", a.status, next, a.body)
		}
		if len(a.array(t)) == 0 {
			break
		}
		cursor = next
	}
	in := incomings(w, "cursor", 3)
	pushAll(t, ts.sandbox, in)
	for reader := range 2 {
		c, at, order := newTally("cursor-"), cursor, []string{}
		eventually(t, fmt.Sprintf("reader %d to see the messages", reader), func() bool {
			a := ts.get(t, "/openqq/check_event?cursor="+url.QueryEscape(at))
			c.add(a.body)
			for _, it := range a.array(t) {
				if p, _ := it.(map[string]any); p != nil && strings.HasPrefix(fmt.Sprint(p["content"]), "cursor-") {
					order = append(order, p["content"].(string))
				}
			}
			at = a.header.Get("X-Openqq-Cursor")
			return c.count() == len(in)
		})
		c.check(t, in)
		if !slices.IsSorted(order) {
			t.Errorf("reader %d saw %v, out of order", reader, order)
		}
	}
}

// webhookReceiver is a post_api subscriber on loopback: it keeps every
// post and answers "ping-x" messages with {"reply":"pong-x"}.
type webhookReceiver struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex // guards posts and ids
	posts []map[string]any
	ids   []string // webhook-id headers
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p map[string]any
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts = append(r.posts, p)
		r.ids = append(r.ids, req.Header.Get("Webhook-Id"))
		r.mu.Unlock()
		if content, _ := p["content"].(string); p["post_type"] == "receive_message" && strings.HasPrefix(content, "ping-") {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"reply": "pong-" + strings.TrimPrefix(content, "ping-")})
		}
	}))
	return r
}

func (r *webhookReceiver) URL() string { return r.url }

// events counts the event posts named name.
func (r *webhookReceiver) events(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.posts {
		if p["post_type"] == "event" && p["event"] == name {
			n++
		}
	}
	return n
}

func (r *webhookReceiver) message(content string) (map[string]any, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.posts {
		if p["content"] == content {
			return p, r.ids[i]
		}
	}
	return nil, ""
}

// serveLoopback serves h on a free loopback port until the test ends.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func testPostAPI(t *testing.T, ts *testStack, w stackWorld, hooks *webhookReceiver) {
	eventually(t, "the login event at post_api", func() bool { return hooks.events("login") > 0 })
	if _, err := ts.sandbox.Push(sandbox.Message{Type: sandbox.MessageFriend, From: w.friend2.ID, Text: "ping-1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the webhook's reply in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, "pong-1"); return ok })
	checkSent(t, ts.sandbox, "pong-1", sendCase{typ: "friend", to: w.friend2.ID})
	p, hookID := hooks.message("ping-1")
	if p["post_type"] != "receive_message" || p["sender_id"] != decimal(w.friend2.ID) || hookID == "" {
		t.Errorf("post_api got %v (webhook-id %q)", p, hookID)
	}
}

// pollServer is a poll_api server: it holds each heartbeat briefly, or
// answers it with a redirect queued by the test.
type pollServer struct {
	url       string
	redirects chan string
}

func newPollServer(t *testing.T) *pollServer {
	p := &pollServer{redirects: make(chan string, 1)}
	p.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case loc := <-p.redirects:
			http.Redirect(w, r, loc, http.StatusFound)
		case <-time.After(200 * time.Millisecond): // a short long poll
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	return p
}

func (p *pollServer) URL() string { return p.url }

// testPollAPI: a heartbeat answered 302 to /openqq/<api> runs that call.
func testPollAPI(t *testing.T, ts *testStack, w stackWorld, poll *pollServer) {
	// Any host: the call goes over the command bus, not to that address.
	poll.redirects <- "http://127.0.0.1:5000/openqq/send_friend_message?id=" + decimal(w.friend.ID) + "&content=poll-api-1"
	eventually(t, "the poll_api send in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, "poll-api-1"); return ok })
	checkSent(t, ts.sandbox, "poll-api-1", sendCase{typ: "friend", to: w.friend.ID})
}

func testKickShutup(t *testing.T, ts *testStack, w stackWorld) {
	create := w.members(w.create, "member")
	manage := w.members(w.manage, "member")
	owner := w.members(w.manage, "owner")[0]
	attendee := w.members(w.attend, "member")[0]
	cg, mg := "group_id="+decimal(w.create.ID), "group_id="+decimal(w.manage.ID)
	cases := []struct {
		name   string
		query  string
		code   int
		status string
	}{
		// The original's order of checks (spec §6.10, §6.11).
		{"kick: group not found", "kick_group_member?group_uid=1&member_id=" + decimal(create[0].ID), 100, "object not found"},
		{"kick: member id empty", "kick_group_member?" + cg + "&member_id=&member_uid=" + decimal(create[0].UID), 200, "member id empty"},
		{"kick: no member list", "kick_group_member?" + cg, 200, "member id empty"},
		{"kick: member not found", "kick_group_member?" + cg + "&member_id=" + decimal(create[0].ID) + ",999", 100, "member 999 not found"},
		{"kick: not an admin there", "kick_group_member?group_id=" + decimal(w.attend.ID) + "&member_id=" + decimal(attendee.ID), 201, "failure"},
		{"kick: the owner", "kick_group_member?" + mg + "&member_id=" + decimal(owner.ID), 201, "failure"},
		{"shutup: group not found", "shutup_group_member?group_id=1&time=1&member_id=" + decimal(manage[0].ID), 100, "object not found"},
		{"shutup: time missing", "shutup_group_member?" + mg + "&member_id=" + decimal(manage[0].ID), 400, "shutup time missing or error"},
		{"shutup: time not digits", "shutup_group_member?" + mg + "&time=1.5&member_id=" + decimal(manage[0].ID), 400, "shutup time missing or error"},
		{"shutup: member id empty", "shutup_group_member?" + mg + "&time=1&member_id=", 200, "member id empty"},
		{"shutup: member not found", "shutup_group_member?" + mg + "&time=1&member_uid=999", 100, "member 999 not found"},
		{"shutup: the owner", "shutup_group_member?" + mg + "&time=1&member_id=" + decimal(owner.ID), 201, "failure"},
		{"shutup: under a minute", "shutup_group_member?" + mg + "&time=0&member_id=" + decimal(manage[0].ID), 201, "failure"},
	}
	for _, c := range cases {
		ts.get(t, "/openqq/"+c.query).wantResult(t, http.StatusOK, c.code, c.status)
	}
	if k, m := ts.sandbox.Kicks(), ts.sandbox.Mutes(); len(k) != 0 || len(m) != 0 {
		t.Fatalf("refused calls reached the sandbox: kicks %+v, mutes %+v", k, m)
	}

	// Ext works (the sandbox and the client share a password): kick by
	// ids, kick by QQ numbers in a POST form, mute for one minute.
	ts.get(t, "/openqq/kick_group_member?"+cg+"&member_id="+decimal(create[0].ID)).wantResult(t, http.StatusOK, 0, "success")
	ts.post(t, "/openqq/kick_group_member", url.Values{
		"group_uid": {decimal(w.create.UID)}, "member_uid": {decimal(create[1].UID) + "," + decimal(create[2].UID)},
	}).wantResult(t, http.StatusOK, 0, "success")
	ts.get(t, "/openqq/shutup_group_member?group_uid="+decimal(w.manage.UID)+"&time=1&member_uid="+decimal(manage[0].UID)).
		wantResult(t, http.StatusOK, 0, "success")

	var kicked []int64
	for _, k := range ts.sandbox.Kicks() {
		if k.GroupID != w.create.ID {
			t.Errorf("kick in group %d, want %d", k.GroupID, w.create.ID)
		}
		kicked = append(kicked, k.MemberID)
	}
	if want := []int64{create[0].ID, create[1].ID, create[2].ID}; !slices.Equal(kicked, want) {
		t.Errorf("the sandbox kicked %v, want %v", kicked, want)
	}
	if m := ts.sandbox.Mutes(); len(m) != 1 || m[0].GroupID != w.manage.ID || m[0].MemberID != manage[0].ID || m[0].Seconds != 60 {
		t.Errorf("the sandbox muted %+v, want member %d of group %d for 60 s", m, manage[0].ID, w.manage.ID)
	}
}

func testClientInfo(t *testing.T, ts *testStack) {
	for _, a := range []answer{ts.get(t, "/openqq/get_client_info"), ts.post(t, "/openqq/get_client_info", nil)} {
		o := a.wantResult(t, http.StatusOK, 0, "success")
		if o["account"] != ts.acct || o["pid"] != json.Number(strconv.Itoa(os.Getpid())) || o["version"] != openqq.Version {
			t.Errorf("get_client_info: %s", a.body)
		}
		checkGolden(t, "get_client_info", o)
	}
	a := ts.get(t, "/openqq/check_client")
	clients, _ := a.object(t)["client"].([]any)
	if len(clients) != 1 {
		t.Fatalf("check_client: %s", a.body)
	}
	if c := clients[0].(map[string]any); c["account"] != ts.acct || c["state"] != "running" || c["alive"] != true {
		t.Errorf("check_client: %s", a.body)
	}
}

// testRelogin: the client logs in again (the sandbox confirms by itself)
// and sends again.
func testRelogin(t *testing.T, ts *testStack, hooks *webhookReceiver) {
	logins := hooks.events("login")
	a := ts.get(t, "/openqq/relogin")
	want := fmt.Sprintf("success, client(%d) will relogin in 3 seconds", os.Getpid())
	if o := a.wantResult(t, http.StatusOK, 0, want); o["account"] != ts.acct {
		t.Errorf("relogin: %s", a.body)
	}
	eventually(t, "a new login", func() bool { return hooks.events("login") > logins })
	ts.waitRunning(t)
	w := pickWorld(t, ts.sandbox)
	checkSendResult(t, ts.get(t, "/openqq/send_friend_message?id="+decimal(w.friend.ID)+"&content=after-relogin"))
	checkSent(t, ts.sandbox, "after-relogin", sendCase{typ: "friend", to: w.friend.ID})
}

// testStopClient: stop_client answers, then the whole stack stops cleanly:
// the connector published stop, which the dispatcher still delivered.
func testStopClient(t *testing.T, ts *testStack, hooks *webhookReceiver) {
	a := ts.get(t, "/openqq/stop_client")
	o := a.wantResult(t, http.StatusOK, 0, fmt.Sprintf("success, client(%d) will stop in 3 seconds", os.Getpid()))
	if o["account"] != ts.acct || o["pid"] != json.Number(strconv.Itoa(os.Getpid())) {
		t.Errorf("stop_client: %s", a.body)
	}
	select {
	case <-ts.done:
	case <-time.After(waitBound):
		t.Fatal("the stack did not stop after stop_client")
	}
	if ts.err != nil {
		t.Errorf("the stack ended with %v", ts.err)
	}
	if hooks.events("stop") != 1 {
		t.Errorf("post_api got %d stop events, want 1", hooks.events("stop"))
	}
	if out := ts.stderr.String(); !strings.Contains(out, "Scan this QR code") || !strings.Contains(out, "▄") {
		t.Errorf("no QR code on stderr:\n%s", out)
	}
}

// testConnectorDown runs a relay on the stack's Redis after the connector
// has gone: writes answer a clear error by their deadline instead of
// hanging, reads keep serving the last contacts.
func testConnectorDown(t *testing.T, acct, redisURL string, w stackWorld) {
	rc, err := loadRelayConfig(map[string]string{
		"OPENQQ_REDIS_URL": redisURL, "OPENQQ_ACCOUNT": acct, "OPENQQ_COMMAND_TIMEOUT": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), store.Options{URL: redisURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		served <- (&relay.Server{Handler: newRelayHandler(rc, db, stackLogger(t), nil)}).Serve(ctx, ln)
	}()
	defer func() { cancel(); <-served }()
	rs := &testStack{url: "http://" + ln.Addr().String()}
	send := "/openqq/send_friend_message?id=" + decimal(w.friend.ID) + "&content=nobody-home"

	// Stopped: refused at once.
	rs.get(t, send).wantResult(t, http.StatusServiceUnavailable, 503, "client not ready")
	if a := rs.get(t, "/openqq/get_friend_info"); a.status != http.StatusOK || len(a.array(t)) != len(w.Friends) {
		t.Errorf("get_friend_info without a connector: HTTP %d %s", a.status, a.body)
	}
	// Died a moment ago, its heartbeat still fresh: the command waits
	// for its deadline, then says it never ran.
	if err := db.SetState(t.Context(), acct, store.State{Account: acct, State: openqq.StateRunning, StartTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.Heartbeat(t.Context(), acct, time.Now()); err != nil {
		t.Fatal(err)
	}
	rs.get(t, send).wantResult(t, http.StatusGatewayTimeout, 504, "request timeout, not executed")
	// Its heartbeat too old: refused at once again.
	if err := db.Heartbeat(t.Context(), acct, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	rs.get(t, send).wantResult(t, http.StatusServiceUnavailable, 503, "client not ready")
}

// TestStackLoginAndAuth runs a stack that waits for the login page's
// button (no auto-confirm) and needs tokens: the QR code is served while
// scanning, the button confirms the scan, and every route checks its
// token.
func TestStackLoginAndAuth(t *testing.T) {
	const rw, ro = "rw-s3cret", "ro-s3cret"
	ts := startStack(t, stackEnv(t, "OPENQQ_SANDBOX_AUTO_CONFIRM", "0", "OPENQQ_API_TOKENS", rw+","+ro+":ro"))
	ts.token = rw

	// Scanning: the QR code is there for whoever holds a token.
	var qr answer
	eventually(t, "a QR code to scan", func() bool { qr = ts.get(t, "/openqq/get_qrcode"); return qr.status == http.StatusOK })
	if qr.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(qr.body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("get_qrcode: %s, %d bytes", qr.header.Get("Content-Type"), len(qr.body))
	}
	if a := ts.get(t, "/healthz"); a.status != http.StatusServiceUnavailable {
		t.Errorf("/healthz while scanning: HTTP %d %s", a.status, a.body)
	}
	page := ts.get(t, "/?access_token="+rw)
	if page.status != http.StatusOK || !strings.Contains(page.header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(page.body, []byte(`data-confirm="`+confirmPath+`"`)) {
		t.Fatalf("login page: HTTP %d %s:\n%s", page.status, page.header.Get("Content-Type"), page.body)
	}
	if st := ts.sandbox.State(); st.QR != "waiting" || st.LoggedIn {
		t.Fatalf("the sandbox confirmed the scan by itself: %+v", st)
	}

	// The page's button: a same-origin POST without a token.
	anon := &testStack{url: ts.url}
	if a := anon.post(t, confirmPath, nil); a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"ok":true`)) {
		t.Fatalf("POST %s: HTTP %d %s", confirmPath, a.status, a.body)
	}
	ts.waitRunning(t)
	if a := ts.get(t, "/openqq/get_qrcode"); a.status != http.StatusNotFound {
		t.Errorf("get_qrcode after the login: HTTP %d", a.status)
	}
	// The other sandbox controls stay off the relay's listener.
	if a := anon.post(t, "/sandbox/messages", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("POST /sandbox/messages on the relay: HTTP %d %s", a.status, a.body)
	}

	testAuth(t, ts, pickWorld(t, ts.sandbox), rw, ro)
}

// authRoute is one route and whether it needs a read-write token.
type authRoute struct {
	method, path string
	write        bool
}

func testAuth(t *testing.T, ts *testStack, w stackWorld, rw, ro string) {
	send := "?id=" + decimal(w.friend.ID) + "&content=denied"
	routes := []authRoute{
		{"GET", "/", false},
		{"GET", "/metrics", false},
		{"GET", "/openqq/get_user_info", false},
		{"GET", "/openqq/get_friend_info", false},
		{"GET", "/openqq/get_group_info", false},
		{"GET", "/openqq/get_group_basic_info", false},
		{"GET", "/openqq/get_discuss_info", false},
		{"GET", "/openqq/search_friend?id=" + decimal(w.friend.ID), false},
		{"POST", "/openqq/search_group?id=" + decimal(w.create.ID), false},
		{"GET", "/openqq/get_client_info", false},
		{"GET", "/openqq/check_client", false},
		{"GET", "/openqq/check_event", false},
		{"GET", "/openqq/send_friend_message" + send, true},
		{"POST", "/openqq/send_group_message?id=" + decimal(w.create.ID) + "&content=denied", true},
		{"GET", "/openqq/send_discuss_message?id=" + decimal(w.discuss.ID) + "&content=denied", true},
		{"GET", "/openqq/send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=" + decimal(w.otherDiscussMember().ID) + "&content=denied", true},
		{"GET", "/openqq/kick_group_member?group_id=" + decimal(w.create.ID) + "&member_id=" + decimal(w.members(w.create, "member")[0].ID), true},
		{"GET", "/openqq/shutup_group_member?group_id=" + decimal(w.create.ID) + "&time=1&member_id=" + decimal(w.members(w.create, "member")[0].ID), true},
		{"GET", "/openqq/relogin", true},
		{"POST", "/openqq/stop_client", true},
	}
	sent := len(ts.sandbox.Sent())
	for _, rt := range routes {
		for _, c := range []struct {
			name string
			hdr  http.Header
			want int // Openqq code; 0: served
		}{
			{"no token", nil, -6},
			{"wrong token", http.Header{"Authorization": {"Bearer nope"}}, -6},
			{"read-only token", http.Header{"X-Auth-Token": {ro}}, map[bool]int{true: -7}[rt.write]},
		} {
			a := ts.fetchAs(t, rt.method, rt.path, c.hdr)
			switch c.want {
			case -6:
				a.wantResult(t, http.StatusUnauthorized, -6, "auth failure")
			case -7:
				a.wantResult(t, http.StatusForbidden, -7, "permission denied")
			default:
				if a.status != http.StatusOK {
					t.Errorf("%s %s with the read-only token: HTTP %d %s", rt.method, rt.path, a.status, a.body)
				}
			}
		}
	}
	if n := len(ts.sandbox.Sent()); n != sent || len(ts.sandbox.Kicks()) != 0 || len(ts.sandbox.Mutes()) != 0 {
		t.Errorf("refused writes reached the sandbox: %d sends, kicks %v, mutes %v", n-sent, ts.sandbox.Kicks(), ts.sandbox.Mutes())
	}
	// Open to all: the preflight and /healthz.
	if a := ts.fetchAs(t, http.MethodOptions, "/openqq/send_friend_message", nil); a.status != http.StatusOK {
		t.Errorf("OPTIONS without a token: HTTP %d", a.status)
	}
	if a := ts.fetchAs(t, http.MethodGet, "/healthz", nil); a.status != http.StatusOK {
		t.Errorf("/healthz without a token: HTTP %d", a.status)
	}
	// The read-write token, in each of its three places.
	for i, hdr := range []http.Header{{"Authorization": {"Bearer " + rw}}, {"X-Auth-Token": {rw}}, nil} {
		path := "/openqq/send_friend_message" + send + strconv.Itoa(i)
		if hdr == nil {
			path += "&access_token=" + rw
		}
		checkSendResult(t, ts.fetchAs(t, http.MethodGet, path, hdr))
	}
}

// fetchAs sends a request with exactly the headers given: no default token.
func (ts *testStack) fetchAs(t testing.TB, method, path string, hdr http.Header) answer {
	t.Helper()
	anon := &testStack{url: ts.url}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	a, err := anon.fetch(ctx, method, path, "", nil, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkMetrics: the relay's /metrics shows the series of every part of the
// stack on one registry: the connector's, the relay's own and, with
// post_api and poll_api configured, the dispatcher's and the heartbeat's.
func checkMetrics(t *testing.T, ts *testStack, webhooks bool) {
	t.Helper()
	acct := `account="` + ts.acct + `"`
	type series struct {
		name   string
		labels []string
	}
	want := []series{
		{"openqq_connector_state", []string{acct, `state="running"} 1`}},
		{"openqq_relay_requests_total", []string{`route="get_friend_info"`, `status="200"`}},
		{"go_goroutines", nil},
	}
	hooks := []series{
		{"openqq_webhook_attempts_total", []string{acct, `outcome="delivered"`}},
		{"openqq_heartbeat_polls_total", []string{acct}},
	}
	if webhooks {
		want = append(want, hooks...)
	}
	ts.get(t, "/openqq/get_friend_info")
	var body string
	eventually(t, "every part's series on /metrics", func() bool {
		a := ts.get(t, "/metrics")
		if a.status != http.StatusOK {
			t.Fatalf("/metrics: HTTP %d %s", a.status, a.body)
		}
		body = string(a.body)
		for _, s := range want {
			if !hasSeries(body, s.name, s.labels...) {
				return false
			}
		}
		return true
	})
	if !webhooks {
		for _, s := range hooks {
			if hasSeries(body, s.name) {
				t.Errorf("/metrics shows %s without post_api or poll_api configured", s.name)
			}
		}
	}
}

// hasSeries reports whether a Prometheus text exposition has a sample of
// name whose line holds every one of labels.
func hasSeries(exposition, name string, labels ...string) bool {
	for line := range strings.Lines(exposition) {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			return true
		}
	}
	return false
}
