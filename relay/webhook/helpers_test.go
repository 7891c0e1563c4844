package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// guard bounds every wait of these tests: it only stops a hung test, it
// never decides a result.
const guard = 30 * time.Second

// fakeClock is the policy clock of a test: time moves only on Advance, and
// every Sleep is reported on slept, so a test sees what the dispatcher
// waits for.
type fakeClock struct {
	mu       sync.Mutex // guards now and sleepers
	now      time.Time
	sleepers []*sleeper
	slept    chan time.Duration
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Second), slept: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.mu.Unlock()
	c.slept <- d
	select {
	case <-ctx.Done():
		c.mu.Lock()
		c.sleepers = slices.DeleteFunc(c.sleepers, func(x *sleeper) bool { return x == s })
		c.mu.Unlock()
		return ctx.Err()
	case <-s.wake:
		return nil
	}
}

// Advance moves time on and wakes the sleepers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleepers = slices.DeleteFunc(c.sleepers, func(s *sleeper) bool {
		if c.now.Before(s.until) {
			return false
		}
		close(s.wake)
		return true
	})
}

// nextSleep waits for the dispatcher's next Sleep and returns its length.
func (c *fakeClock) nextSleep(t testing.TB) time.Duration {
	t.Helper()
	select {
	case d := <-c.slept:
		return d
	case <-time.After(guard):
		t.Fatal("the dispatcher never slept")
		return 0
	}
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

func (r received) content() string {
	var m struct {
		Content string `json:"content"`
		Event   string `json:"event"`
	}
	_ = json.Unmarshal(r.Body, &m)
	if m.Event != "" {
		return "event:" + m.Event
	}
	return m.Content
}

// receiver is a webhook endpoint on loopback that records every request
// and answers with respond (200 {} by default).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex // guards got, changed and respond
	got     []received
	changed chan struct{} // closed and replaced on every request
	respond func(w http.ResponseWriter, r *http.Request, rec received, n int)
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{changed: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{Header: r.Header.Clone(), Body: body}
	rc.mu.Lock()
	rc.got = append(rc.got, rec)
	n := len(rc.got)
	respond := rc.respond
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
	if respond != nil {
		respond(w, r, rec, n)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

func (rc *receiver) setRespond(f func(w http.ResponseWriter, r *http.Request, rec received, n int)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// waitFor waits until cond holds for the requests received so far.
func (rc *receiver) waitFor(t testing.TB, what string, cond func([]received) bool) []received {
	t.Helper()
	deadline := time.After(guard)
	for {
		rc.mu.Lock()
		got, ch := slices.Clone(rc.got), rc.changed
		rc.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: never happened; got %d requests: %v", what, len(got), contents(got))
		}
	}
}

// waitContents waits until the receiver has seen every content in want.
func (rc *receiver) waitContents(t testing.TB, want ...string) []received {
	t.Helper()
	return rc.waitFor(t, fmt.Sprintf("receive %v", want), func(got []received) bool {
		have := contents(got)
		for _, w := range want {
			if !slices.Contains(have, w) {
				return false
			}
		}
		return true
	})
}

func contents(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.content()
	}
	return out
}

// eventually polls cond (for state the test cannot be told about).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testEnv is a store and an account for one test.
type testEnv struct {
	url  string
	db   *store.DB
	acct string
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	e := &testEnv{url: storetest.URL(t), acct: storetest.Account(t)}
	e.db = e.open(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.db.DeleteAccount(ctx, e.acct); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return e
}

// open connects another DB to the test's Redis (another process's view).
func (e *testEnv) open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: e.url, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}

// options are test defaults: a fake clock, the longest jitter (so waits are
// exactly the schedule), fast reads and refreshes.
func (e *testEnv) options(t testing.TB, clock Clock, subs ...Subscriber) Options {
	return Options{
		Store:           e.db,
		Account:         e.acct,
		Subscribers:     subs,
		Clock:           clock,
		Policy:          Policy{Jitter: func(d time.Duration) time.Duration { return d }},
		Logger:          testLogger(t),
		RefreshInterval: 50 * time.Millisecond,
		Block:           200 * time.Millisecond,
		LeaseTTL:        3 * time.Second,
	}
}

// running is a started Dispatcher; stop cancels it and waits for Run.
type running struct {
	*Dispatcher
	stop func()
}

// start builds a Dispatcher, syncs it (so no event appended afterwards is
// missed) and runs it until the test ends or stop is called.
func start(t testing.TB, o Options) *running {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{Dispatcher: d, stop: stop}
}

// friendMessage is a received friend message post, as the connector
// appends it.
func friendMessage(sender openqq.ID, content string) []byte {
	m := openqq.Message{
		Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: 1000 + sender, Time: 1_700_000_000,
		Content: content, SenderID: sender, Sender: "friend", ReceiverID: 1, Receiver: "me",
	}
	b, err := json.Marshal(openqq.NewMessagePost(&m))
	if err != nil {
		panic(err)
	}
	return b
}

func groupMessage(group, sender openqq.ID, content string) []byte {
	m := openqq.Message{
		Type: openqq.GroupMessage, Class: openqq.ClassRecv, ID: 2000, Time: 1_700_000_000,
		Content: content, SenderID: sender, Sender: "member", ReceiverID: 1, Receiver: "me", GroupID: group, Group: "g",
	}
	b, _ := json.Marshal(openqq.NewMessagePost(&m))
	return b
}

func sentFriendMessage(receiver openqq.ID, content string) []byte {
	m := openqq.Message{
		Type: openqq.FriendMessage, Class: openqq.ClassSend, ID: 3000, Time: 1_700_000_000,
		Content: content, SenderID: 1, Sender: "me", ReceiverID: receiver, Receiver: "friend",
		From: "api", TTL: 3, Source: openqq.SourceLocal,
	}
	b, _ := json.Marshal(openqq.NewMessagePost(&m))
	return b
}

func eventPost(name string, params ...any) []byte {
	b, _ := json.Marshal(openqq.NewEventPost(name, params...))
	return b
}

// appendAll appends posts in order and returns their stream ids.
func (e *testEnv) appendAll(t testing.TB, posts ...[]byte) []string {
	t.Helper()
	ids := make([]string, len(posts))
	for i, p := range posts {
		id, err := e.db.AppendEvent(t.Context(), e.acct, p)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// messages are friend messages m0…m(n-1) from sender 11.
func messages(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = friendMessage(11, fmt.Sprintf("m%d", i))
	}
	return out
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// status reads a subscriber's stored status.
func (e *testEnv) status(t testing.TB, id string) store.WebhookStatus {
	t.Helper()
	subs, err := e.db.WebhookSubscribers(t.Context(), e.acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.ID == id {
			return s.Status
		}
	}
	return store.WebhookStatus{}
}

// commands reads n commands from the bus as the connector would.
func (e *testEnv) commands(t testing.TB, n int) []openqq.Command {
	t.Helper()
	var out []openqq.Command
	deadline := time.Now().Add(guard)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d commands, want %d: %+v", len(out), n, out)
		}
		ds, err := e.db.Consume(t.Context(), e.acct, "test-connector", n-len(out), time.Second)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		for _, d := range ds {
			out = append(out, d.Command)
		}
	}
	return out
}

// admin calls the admin API with the test token.
func admin(t testing.TB, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("Authorization", "Bearer admin-secret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}
