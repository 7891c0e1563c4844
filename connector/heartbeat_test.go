package connector_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

// hbServer is a poll_api server: the n-th GET gets answers[n-1] (a Location
// to redirect to, or "" for 200); every GET is signalled on polls.
type hbServer struct {
	*httptest.Server
	polls chan int
	n     atomic.Int32
}

func newHBServer(t *testing.T, status int, answers ...string) *hbServer {
	s := &hbServer{polls: make(chan int, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.n.Add(1))
		if n <= len(answers) && answers[n-1] != "" {
			w.Header().Set("Location", answers[n-1])
			w.WriteHeader(status)
		}
		s.polls <- n
	}))
	t.Cleanup(s.Close)
	return s
}

// waitPoll waits for the n-th poll.
func (s *hbServer) waitPoll(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-s.polls:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatalf("poll %d never came", n)
		}
	}
}

// hbConsumer plays the connector: it answers every command with code 0 and
// records it.
type hbConsumer struct {
	mu   sync.Mutex // guards cmds
	cmds []openqq.Command
}

func startHBConsumer(t *testing.T, db *store.DB, acct string) *hbConsumer {
	c := &hbConsumer{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for ctx.Err() == nil {
			cs, err := db.ConsumeAndStart(ctx, acct, "hb-consumer", 10, 200*time.Millisecond)
			if err != nil {
				continue
			}
			for _, cl := range cs {
				d := cl.Delivery
				c.mu.Lock()
				c.cmds = append(c.cmds, d.Command)
				c.mu.Unlock()
				if cl.Err != nil {
					db.Ack(ctx, acct, d)
					continue
				}
				res, _ := openqq.NewResult(0, map[string]any{"code": 0, "status": "发送成功"})
				db.Reply(ctx, acct, d, res)
			}
		}
	})
	return c
}

func (c *hbConsumer) commands() []openqq.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]openqq.Command(nil), c.cmds...)
}

func runHeartbeat(t *testing.T, o connector.HeartbeatOptions) {
	t.Helper()
	if o.Interval == 0 {
		o.Interval = 10 * time.Millisecond
	}
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	h, err := connector.NewHeartbeat(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// A 302 to /openqq/<api> on any host runs that API over the command bus;
// the heartbeat waits for its answer before the next poll.
func TestHeartbeatRedirectRunsCommand(t *testing.T) {
	db, acct := storetest.New(t)
	consumer := startHBConsumer(t, db, acct)
	srv := newHBServer(t, http.StatusFound,
		"http://127.0.0.1:5000/openqq/send_friend_message?id=11&content=hello&content=again&client=c1&async=1")
	reg := prometheus.NewRegistry()
	runHeartbeat(t, connector.HeartbeatOptions{URL: srv.URL + "/poll?token=x", Store: db, Account: acct, Registry: reg})
	srv.waitPoll(t, 2)

	cmds := consumer.commands()
	if len(cmds) != 1 {
		t.Fatalf("commands = %+v", cmds)
	}
	want := map[string]string{"id": "11", "content": "hello"}
	if cmds[0].API != openqq.APISendFriendMessage || !maps.Equal(cmds[0].Params, want) || cmds[0].Async {
		t.Errorf("command = %+v", cmds[0])
	}
	// Poll 2 came after the Submit returned: its answer is counted.
	if n := hbCounter(t, reg, "openqq_heartbeat_commands_total", "api", openqq.APISendFriendMessage, "code", "0"); n != 1 {
		t.Errorf("completed commands = %v", n)
	}
}

// Redirects elsewhere, to read APIs or to unknown paths are ignored and
// never followed; a relative Location to a write API runs.
func TestHeartbeatIgnoresOtherRedirects(t *testing.T) {
	db, acct := storetest.New(t)
	consumer := startHBConsumer(t, db, acct)
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	t.Cleanup(target.Close)
	srv := newHBServer(t, http.StatusMovedPermanently,
		target.URL+"/elsewhere",
		target.URL+"/openqq/get_friend_info",
		target.URL+"/openqq/send_friend_message/extra?id=1",
		"/openqq/send_group_message?id=22&content=x",
	)
	reg := prometheus.NewRegistry()
	runHeartbeat(t, connector.HeartbeatOptions{URL: srv.URL, Store: db, Account: acct, Registry: reg})
	srv.waitPoll(t, 5)

	if n := followed.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
	cmds := consumer.commands()
	if len(cmds) != 1 || cmds[0].API != openqq.APISendGroupMessage || cmds[0].Params["id"] != "22" {
		t.Errorf("commands = %+v", cmds)
	}
	if n := hbCounter(t, reg, "openqq_heartbeat_polls_total", "result", "ignored"); n != 3 {
		t.Errorf("ignored redirects = %v", n)
	}
}

// Without a connector the command times out; the heartbeat goes on.
func TestHeartbeatCommandTimesOut(t *testing.T) {
	db, acct := storetest.New(t)
	srv := newHBServer(t, http.StatusSeeOther, "/openqq/relogin")
	reg := prometheus.NewRegistry()
	runHeartbeat(t, connector.HeartbeatOptions{URL: srv.URL, Store: db, Account: acct, Registry: reg, CommandWait: 300 * time.Millisecond})
	srv.waitPoll(t, 2)
	if n := hbCounter(t, reg, "openqq_heartbeat_commands_total", "api", openqq.APIRelogin, "code", "504"); n != 1 {
		t.Errorf("timed-out commands = %v", n)
	}
}

// The heartbeat keeps polling when the server is unreachable.
func TestHeartbeatSurvivesErrors(t *testing.T) {
	db, acct := storetest.New(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic(http.ErrAbortHandler) // the connection drops
		}
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	runHeartbeat(t, connector.HeartbeatOptions{URL: srv.URL, Store: db, Account: acct, Registry: reg})
	deadline := time.Now().Add(30 * time.Second)
	for hbCounter(t, reg, "openqq_heartbeat_polls_total", "result", "ok") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no successful poll after an error")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := hbCounter(t, reg, "openqq_heartbeat_polls_total", "result", "error"); n != 1 {
		t.Errorf("errors = %v", n)
	}
}

func TestNewHeartbeatRejectsBadOptions(t *testing.T) {
	db, _ := storetest.New(t)
	for _, o := range []connector.HeartbeatOptions{
		{URL: "", Store: db},
		{URL: "ftp://x/", Store: db},
		{URL: "/relative", Store: db},
		{URL: "http://x/"},
	} {
		if _, err := connector.NewHeartbeat(o); err == nil {
			t.Errorf("NewHeartbeat(%+v) accepted", o)
		}
	}
}

// hbCounter reads one series of a counter from reg (0 when absent).
func hbCounter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
