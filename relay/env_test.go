package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/goleak"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The relay's tests run on the real store (store/storetest): a
// redis-server when OPENQQ_TEST_REDIS_URL is set, else an embedded one. Every
// env has a fresh account, so tests share a server and run in parallel.

// env is one relay under test: its store, its account and a client that
// reaches it over HTTP, or through the Lambda adapter.
type env struct {
	t      testing.TB
	db     *store.DB
	acct   string
	h      *Handler
	url    string
	client *http.Client
	logs   *syncBuffer
	now    time.Time // the handler's clock (fixed)

	cmdsMu sync.Mutex
	cmds   []openqq.Command // commands the test connector ran
}

type envOption func(*Options)

func withTokens(spec string) envOption {
	return func(o *Options) {
		t, err := ParseTokens(spec)
		if err != nil {
			panic(err)
		}
		o.Tokens = t
	}
}

func withHold(d time.Duration) envOption { return func(o *Options) { o.CheckEventTimeout = d } }

func withCommandTimeout(d time.Duration) envOption {
	return func(o *Options) { o.CommandTimeout = d }
}

// fixedNow is the handler's clock in tests: 3096 s after the connector's
// start time of the original's example (spec §6.12).
var fixedNow = time.Unix(1475135588+3096, 0)

// newEnv starts a relay on a fresh account over plain HTTP.
func newEnv(tb testing.TB, opts ...envOption) *env {
	return newEnvOver(tb, false, opts...)
}

// newEnvOver starts a relay reached over HTTP or, with viaLambda, through
// the Lambda adapter with an invocation deadline.
func newEnvOver(tb testing.TB, viaLambda bool, opts ...envOption) *env {
	tb.Helper()
	db, acct := storetest.New(tb)
	e := &env{t: tb, db: db, acct: acct, logs: &syncBuffer{}, now: fixedNow}
	o := Options{
		Store:             e.db,
		Account:           e.acct,
		CheckEventTimeout: time.Second,
		CommandTimeout:    10 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, opt := range opts {
		opt(&o)
	}
	e.h = New(o)
	e.h.now = func() time.Time { return e.now }
	if viaLambda {
		e.url = "https://lambda.test"
		e.client = &http.Client{Transport: &lambdaTransport{a: lambda.New(e.h, nil)}}
	} else {
		srv := httptest.NewServer(e.h)
		tb.Cleanup(srv.Close)
		e.url, e.client = srv.URL, srv.Client()
	}
	if err := e.db.AddAccount(tb.Context(), e.acct); err != nil {
		tb.Fatal(err)
	}
	return e
}

// seed stores the fixture contacts and a running connector's state.
func (e *env) seed() *env {
	e.t.Helper()
	if err := e.db.SaveContacts(e.t.Context(), e.acct, fixtureContacts()); err != nil {
		e.t.Fatal(err)
	}
	e.setState(openqq.StateRunning, e.now)
	return e
}

// setState publishes a connector state with the given heartbeat.
func (e *env) setState(s openqq.ClientState, heartbeat time.Time) {
	e.t.Helper()
	err := e.db.SetState(e.t.Context(), e.acct, store.State{
		State: s, Previous: openqq.StateUpdating, PID: 15497, Host: "qq-vm", OS: "linux",
		Version: "0.1.0", StartTime: time.Unix(1475135588, 0), LoginTime: time.Unix(1475135600, 0),
		Heartbeat: heartbeat,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// answer is what the test connector replies to one command.
type answer func(cmd openqq.Command) openqq.Result

// defaultAnswer answers like the real connector would: a send result for
// sends, success for kick and mute, code 0 for relogin and stop.
func defaultAnswer(cmd openqq.Command) openqq.Result {
	var body string
	switch cmd.API {
	case openqq.APISendFriendMessage, openqq.APISendGroupMessage, openqq.APISendDiscussMessage, openqq.APISendSessMessage:
		body = `{"id":23910327,"code":0,"status":"发送成功","info":"发送正常"}`
	case openqq.APIKickGroupMember, openqq.APIShutupGroupMember:
		body = `{"code":0,"status":"success"}`
	default:
		body = `{"code":0,"status":"success"}`
	}
	return openqq.Result{Code: 0, Body: json.RawMessage(body)}
}

// connector plays the connector for the account: Consume → Start → Reply,
// recording every command, until the test ends.
func (e *env) connector(reply answer) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for ctx.Err() == nil {
			cs, err := e.db.ConsumeAndStart(ctx, e.acct, "test-connector", 16, 200*time.Millisecond)
			if err != nil {
				if ctx.Err() == nil {
					e.t.Errorf("consume: %v", err)
				}
				return
			}
			for _, c := range cs {
				d := c.Delivery
				e.cmdsMu.Lock()
				e.cmds = append(e.cmds, d.Command)
				e.cmdsMu.Unlock()
				if c.Err != nil {
					e.db.Ack(ctx, e.acct, d)
					continue
				}
				if err := e.db.Reply(ctx, e.acct, d, reply(d.Command)); err != nil && ctx.Err() == nil {
					e.t.Errorf("reply: %v", err)
				}
			}
		}
	})
}

// commands returns the commands the test connector has seen.
func (e *env) commands() []openqq.Command {
	e.cmdsMu.Lock()
	defer e.cmdsMu.Unlock()
	return append([]openqq.Command(nil), e.cmds...)
}

// waitCommands waits until the test connector has seen n commands (async
// sends reach it after the answer).
func (e *env) waitCommands(n int) []openqq.Command {
	e.t.Helper()
	for range 500 {
		if c := e.commands(); len(c) >= n {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("the connector saw %d commands, want %d", len(e.commands()), n)
	return nil
}

// request describes one call to the relay.
type request struct {
	method      string
	target      string // path and query
	contentType string
	body        string
	header      map[string]string
	deadline    time.Duration // the client's (or the Lambda invocation's) deadline; 0 means a minute
}

func get(target string) request { return request{method: http.MethodGet, target: target} }

func postForm(target, body string) request {
	return request{method: http.MethodPost, target: target, contentType: "application/x-www-form-urlencoded", body: body}
}

func postJSON(target, body string) request {
	return request{method: http.MethodPost, target: target, contentType: "application/json", body: body}
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(r request) response {
	e.t.Helper()
	d := r.deadline
	if d == 0 {
		d = time.Minute // a safety net, not an assertion
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, e.url+r.target, strings.NewReader(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// json decodes the body, failing the test when it is not JSON.
func (r response) json(tb testing.TB) map[string]any {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		tb.Fatalf("body %q: %v", r.body, err)
	}
	return v
}

// code is the Openqq code of a JSON answer.
func (r response) code(tb testing.TB) float64 {
	tb.Helper()
	c, ok := r.json(tb)["code"].(float64)
	if !ok {
		tb.Fatalf("no code in %s", r.body)
	}
	return c
}

// lambdaTransport sends requests through the Lambda adapter as payload 2.0
// events, with an invocation deadline as Lambda gives one.
type lambdaTransport struct{ a *lambda.Adapter }

func (t *lambdaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	e := events.APIGatewayV2HTTPRequest{
		Version:         "2.0",
		RawPath:         req.URL.EscapedPath(),
		RawQueryString:  req.URL.RawQuery,
		Headers:         map[string]string{},
		Body:            base64.StdEncoding.EncodeToString(body),
		IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "test-request",
			DomainName: req.URL.Host,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: req.Method, Path: req.URL.Path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1",
			},
		},
	}
	for k, v := range req.Header {
		e.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ctx := req.Context()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	res, err := t.a.ServeEvent(ctx, e)
	if err != nil {
		return nil, err
	}
	out := &http.Response{StatusCode: res.StatusCode, Header: http.Header{}, Request: req}
	for k, v := range res.Headers {
		out.Header.Set(k, v)
	}
	b := []byte(res.Body)
	if res.IsBase64Encoded {
		if b, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			return nil, err
		}
	}
	out.Body = io.NopCloser(bytes.NewReader(b))
	return out, nil
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failingStore wraps the real store and fails or panics on demand, as
// asynq's testbroker does.
type failingStore struct {
	*store.DB
	mu      sync.Mutex
	down    bool // every call fails: "redis is down"
	panicky bool // Contacts panics
}

var errStoreDown = errors.New("redis is down")

func (f *failingStore) state() (down, panicky bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down, f.panicky
}

func (f *failingStore) Ping(ctx context.Context) error {
	if down, _ := f.state(); down {
		return errStoreDown
	}
	return f.DB.Ping(ctx)
}

func (f *failingStore) Contacts(ctx context.Context, acct string) (*openqq.Contacts, error) {
	down, panicky := f.state()
	if panicky {
		panic("contacts exploded")
	}
	if down {
		return nil, errStoreDown
	}
	return f.DB.Contacts(ctx, acct)
}

func (f *failingStore) ContactsVersion(ctx context.Context, acct string) (int64, error) {
	down, panicky := f.state()
	if panicky {
		panic("contacts exploded")
	}
	if down {
		return 0, errStoreDown
	}
	return f.DB.ContactsVersion(ctx, acct)
}

func (f *failingStore) StateAndContactsVersion(ctx context.Context, acct string) (store.State, int64, error) {
	down, panicky := f.state()
	if panicky {
		panic("contacts exploded")
	}
	if down {
		return store.State{}, 0, errStoreDown
	}
	return f.DB.StateAndContactsVersion(ctx, acct)
}

var _ Store = (*store.DB)(nil)
