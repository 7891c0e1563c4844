package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

// connSendGate sits in front of the sandbox: while held, a send request waits
// at the gate (the command is in flight) and is then refused, so it never
// reaches the sandbox.
type connSendGate struct {
	mu      sync.Mutex
	held    chan struct{} // non-nil while holding; closed to let go
	arrived chan struct{} // gets a value when a send is held
}

func (g *connSendGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		held := g.held
		g.mu.Unlock()
		if held != nil && strings.HasPrefix(r.URL.Path, "/channel/send_") {
			g.arrived <- struct{}{}
			<-held
			http.Error(w, "gate closed", http.StatusBadGateway)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (g *connSendGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.arrived = make(chan struct{}), make(chan struct{}, 1)
}

func (g *connSendGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// The built binary as `openqq connector`, against a standalone sandbox over
// HTTP: killed with SIGKILL and started again, it comes back running with
// login(0) and no new QR code; the command in flight at the kill is never
// run again and its caller hears "outcome unknown"; a command queued while
// it was down runs exactly once; one whose deadline passed never runs; and
// SIGTERM stops it cleanly.
func TestConnectorBinaryKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := openqqBinary(t)
	url := storetest.URL(t)
	ctx := t.Context()
	db, err := store.Open(ctx, store.Options{URL: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acct := storetest.Account(t)
	dropAccountAtEnd(t, url, acct) // after the connectors are killed

	srv := sandbox.NewUnstartedServer(sandbox.Options{PollHold: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(srv.Close)
	gate := &connSendGate{}
	front := httptest.NewServer(gate.wrap(srv.Handler()))
	t.Cleanup(front.Close)
	t.Cleanup(gate.release)
	srv.ConfirmQR() // the first QR code is scanned and confirmed at once

	admin := freeAddr(t)
	env := inheritedEnv(map[string]string{
		"OPENQQ_REDIS_URL": url, "OPENQQ_ACCOUNT": acct, "OPENQQ_BACKEND": "webqq",
		"OPENQQ_WEBQQ_ENDPOINT": front.URL, "OPENQQ_SEND_INTERVAL": "0", "OPENQQ_LEASE_TTL": "2s",
		"OPENQQ_ADMIN_LISTEN": admin, "OPENQQ_LOG_LEVEL": "debug",
	})
	state := func() store.State {
		st, err := db.State(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	events := func(name string) []openqq.Event {
		evs, err := db.ReadEvents(ctx, acct, "0", 10_000, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []openqq.Event
		for _, ev := range evs {
			var p openqq.Post
			if json.Unmarshal(ev.Payload, &p) == nil && p.Event != nil && p.Event.Name == name {
				out = append(out, *p.Event)
			}
		}
		return out
	}
	submit := func(content string, deadline time.Duration) (openqq.Result, error) {
		friend := srv.World().Friends[0]
		return db.Submit(ctx, acct, &openqq.Command{API: openqq.APISendFriendMessage,
			Params:   map[string]string{"id": fmt.Sprint(friend.ID), "content": content},
			Deadline: time.Now().Add(deadline)})
	}
	sent := func(content string) int {
		n := 0
		for _, m := range srv.Sent() {
			if m.Text == content {
				n++
			}
		}
		return n
	}

	first := startProc(t, bin, env, "connector")
	eventually(t, "the first connector to run", func() bool { return state().State == openqq.StateRunning })
	owner := state().Owner
	if res, err := http.Get("http://" + admin + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("healthz = %v, %v", res, err)
	} else {
		res.Body.Close()
	}
	if res, err := submit("hello", 30*time.Second); err != nil || res.Code != 0 || sent("hello") != 1 {
		t.Fatalf("send = %+v, %v; sandbox has %d", res, err, sent("hello"))
	}

	// A send in flight (started, held at the gate) when the process dies.
	gate.hold()
	inflight := make(chan error, 1)
	go func() {
		res, err := submit("in flight", 60*time.Second)
		if err == nil && res.Code != openqq.ErrOutcomeUnknown.Code {
			err = fmt.Errorf("answer %+v", res)
		}
		inflight <- err
	}()
	<-gate.arrived
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	gate.release()

	// While it is down: one command that will wait for the restart, one
	// whose deadline passes first.
	queued := make(chan error, 1)
	go func() {
		res, err := submit("queued", 60*time.Second)
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("answer %+v", res)
		}
		queued <- err
	}()
	if _, err := submit("expired", 300*time.Millisecond); !errors.Is(err, openqq.ErrTimeout) {
		t.Errorf("submit with no connector = %v, want ErrTimeout", err)
	}

	second := startProc(t, bin, env, "connector")
	eventually(t, "the second connector to run", func() bool {
		st := state()
		return st.State == openqq.StateRunning && st.Owner != owner
	})
	if err := <-inflight; err != nil && !errors.Is(err, openqq.ErrOutcomeUnknown) {
		t.Errorf("the command in flight at the kill: %v, want outcome unknown", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("the command queued while down: %v", err)
	}
	logins := events(openqq.EventLogin)
	if len(logins) != 2 || logins[0].Params[0] != float64(1) || logins[1].Params[0] != float64(0) {
		t.Errorf("login events = %v, want [1] then [0]", logins)
	}
	if n := len(events(openqq.EventInputQRCode)); n != 1 {
		t.Errorf("%d QR codes, want 1: the restart must reuse the cookies", n)
	}
	if n := sent("queued"); n != 1 {
		t.Errorf("queued command sent %d times, want 1", n)
	}
	if n, m := sent("in flight"), sent("expired"); n != 0 || m != 0 {
		t.Errorf("sent the in-flight command %d times and the expired one %d times, want 0", n, m)
	}

	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-second.done
	if second.err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", second.err, second.out)
	}
	if st := state(); st.State != openqq.StateStop {
		t.Errorf("state after SIGTERM = %s", st.State)
	}
	if owner, _, err := db.LeaseHolder(ctx, acct); err != nil || owner != "" {
		t.Errorf("lease after SIGTERM held by %q (%v)", owner, err)
	}
	// No cookie value (skey, ptwebqq, …) ever reaches the log.
	jar, err := db.Cookies(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var cookies []struct{ Name, Value string }
	if err := json.Unmarshal(jar, &cookies); err != nil || len(cookies) == 0 {
		t.Fatalf("saved cookie jar %s: %v", jar, err)
	}
	logs := first.out.String() + second.out.String()
	for _, c := range cookies {
		if len(c.Value) >= 8 && strings.Contains(logs, c.Value) {
			t.Errorf("the value of cookie %s is in the log", c.Name)
		}
	}
}
