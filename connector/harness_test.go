package connector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// redisURL is OPENQQ_TEST_REDIS_URL (a real redis-server, as CI runs), else
// an embedded Redis that lives for the test.
func redisURL(t testing.TB) string {
	if u := os.Getenv("OPENQQ_TEST_REDIS_URL"); u != "" {
		return u
	}
	e, err := store.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.URL()
}

func openDB(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Options{URL: url, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// env is one test's world: a Redis, a fresh account, a fake QQ service.
type env struct {
	t    *testing.T
	url  string
	db   *store.DB
	acct string
	srv  *fakeServer
}

func newEnv(t *testing.T) *env {
	url := redisURL(t)
	return &env{
		t:    t,
		url:  url,
		db:   openDB(t, url),
		acct: fmt.Sprintf("conn-%s-%08x", t.Name(), rand.Uint32()),
		srv:  newFakeServer(testContacts()),
	}
}

// runner is one connector running in the test.
type runner struct {
	*connector.Runner
	client *fakeClient
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
}

// start runs a connector for the account with short timings; opts adjust
// its options. It is stopped (SIGTERM-style) at cleanup.
func (e *env) start(db connector.DB, opts ...func(*connector.Options)) *runner {
	e.t.Helper()
	if db == nil {
		db = e.db
	}
	client := e.srv.Client()
	o := connector.Options{
		Store: db, Backend: client, Account: e.acct, Logger: testLogger(e.t),
		LeaseTTL: time.Second, HeartbeatInterval: 100 * time.Millisecond,
		DrainTimeout: 5 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	r, err := connector.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	h := &runner{Runner: r, client: client, cancel: cancel, done: make(chan struct{})}
	go func() { h.err = r.Run(ctx); close(h.done) }()
	e.t.Cleanup(func() { h.stop() })
	return h
}

// stop cancels the connector and waits for Run to return.
func (h *runner) stop() error {
	h.cancel()
	return h.wait()
}

// wait waits for Run to return by itself.
func (h *runner) wait() error {
	<-h.done
	return h.err
}

// startRunning starts a connector and logs it in by QR scan.
func (e *env) startRunning(opts ...func(*connector.Options)) *runner {
	e.t.Helper()
	h := e.start(nil, opts...)
	e.waitState(openqq.StateScaning)
	e.srv.Scan()
	e.waitState(openqq.StateRunning)
	return h
}

// waitFor polls cond until it holds, failing the test after a generous
// bound: tests wait for conditions, they never assert timings.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// state reads the state record from Redis.
func (e *env) state() store.State {
	e.t.Helper()
	st, err := e.db.State(e.t.Context(), e.acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) waitState(s openqq.ClientState) {
	e.t.Helper()
	waitFor(e.t, "state "+string(s), func() bool { return e.state().State == s })
}

// posts reads the whole events stream.
func (e *env) posts() []openqq.Post {
	e.t.Helper()
	evs, err := e.db.ReadEvents(e.t.Context(), e.acct, "0", 10_000, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]openqq.Post, len(evs))
	for i, ev := range evs {
		if err := json.Unmarshal(ev.Payload, &out[i]); err != nil {
			e.t.Fatalf("event %s: %v", ev.Payload, err)
		}
	}
	return out
}

// events returns the events (not messages) of the stream named name.
func (e *env) events(name string) []openqq.Event {
	var out []openqq.Event
	for _, p := range e.posts() {
		if p.Event != nil && p.Event.Name == name {
			out = append(out, *p.Event)
		}
	}
	return out
}

func (e *env) waitEvent(name string, n int) []openqq.Event {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%d %s event(s)", n, name), func() bool { return len(e.events(name)) >= n })
	return e.events(name)
}

// stateChanges lists the state_change events as "old>new".
func (e *env) stateChanges() []string {
	var out []string
	for _, ev := range e.events(openqq.EventStateChange) {
		out = append(out, fmt.Sprintf("%v>%v", ev.Params[0], ev.Params[1]))
	}
	return out
}

// takeCheckEvents empties the check_event buffer.
func (e *env) takeCheckEvents() []openqq.Post {
	e.t.Helper()
	items, err := e.db.TakeCheckEvents(e.t.Context(), e.acct, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]openqq.Post, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// submit runs one command through the relay's path (Submit) and returns the
// answer's code and body as a map.
func (e *env) submit(api string, params map[string]string) (int, map[string]any) {
	e.t.Helper()
	cmd := &openqq.Command{API: api, Params: params, Deadline: time.Now().Add(20 * time.Second)}
	res, err := e.db.Submit(e.t.Context(), e.acct, cmd)
	if err != nil {
		e.t.Fatalf("%s %v: %v", api, params, err)
	}
	var body map[string]any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		e.t.Fatalf("%s: body %s: %v", api, res.Body, err)
	}
	return res.Code, body
}

func names(evs []openqq.Post) []string {
	var out []string
	for _, p := range evs {
		out = append(out, p.PostType+":"+p.Name())
	}
	return out
}
