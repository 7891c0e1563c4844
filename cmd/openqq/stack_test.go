package main

// Full-stack tests: real HTTP → relay → Redis → connector → webqq client →
// sandbox over real HTTP, started in-process the way `openqq up` starts it
// (startUp, then Run). Redis is OPENQQ_TEST_REDIS_URL when set, else an
// embedded one. Tests wait for conditions with bounded polling, never for
// durations. This file holds the harness and TestStack; the checks live in
// stack_*_test.go by concern (contacts and search, sends, events and
// webhooks, controls, login and tokens).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
	"github.com/openqq-relay/openqq/store/storetest"
)

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

// testStack is one stack running in the test. A testStack with only url
// (and client or token) set is a client of any relay.
type testStack struct {
	*upStack
	url    string       // the relay's base URL
	client *http.Client // nil: http.DefaultClient
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
	if u := env["OPENQQ_REDIS_URL"]; u != "" { // after the stack has stopped
		dropAccountAtEnd(t, u, ts.acct)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	ts.cancelRun = cancel
	go func() { ts.err = s.Run(ctx); close(ts.done) }()
	t.Cleanup(func() {
		cancel()
		<-ts.done
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
	c := ts.client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
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

// fetchAs sends a request with exactly the headers given: no default token.
func (ts *testStack) fetchAs(t testing.TB, method, path string, hdr http.Header) answer {
	t.Helper()
	anon := &testStack{url: ts.url, client: ts.client}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	a, err := anon.fetch(ctx, method, path, "", nil, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
