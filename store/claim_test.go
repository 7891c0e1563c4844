package store

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// takeClaims calls ConsumeAndStart until it returns something.
func takeClaims(t *testing.T, db *DB, acct, consumer string, running ...string) []Claim {
	t.Helper()
	for range 50 {
		cs, err := db.ConsumeAndStart(t.Context(), acct, consumer, 16, 200*time.Millisecond, running)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 {
			return cs
		}
	}
	t.Fatal("nothing claimed")
	return nil
}

// ConsumeAndStart reads and starts in one call: the marker is set as Start
// sets it, a command being run is skipped, and one started but not being
// run (an earlier incarnation's) comes back as ErrDuplicate.
func testConsumeAndStart(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if cs, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 0, 0, nil); err != nil || len(cs) != 0 {
		t.Fatalf("ConsumeAndStart on a new account = %v, %v; want nothing (and a group)", cs, err)
	}
	// Scripts flushed (a restarted Redis): the read still ends claimed.
	if err := e.rdb().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	done := submitAsync(t, e.db, e.acct, newCommand("cs", 10*time.Second))
	cs := takeClaims(t, e.db, e.acct, "c1")
	if len(cs) != 1 || cs[0].Err != nil || cs[0].Command.ID != "cs" || cs[0].Deliveries != 1 {
		t.Fatalf("claims = %+v, want cs started", cs)
	}
	sid := cs[0].StreamID
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "cs")).Result(); m != "started "+sid {
		t.Errorf("marker = %q, want started %s", m, sid)
	}
	if err := e.db.Start(ctx, e.acct, cs[0].Delivery); !errors.Is(err, ErrDuplicate) {
		t.Errorf("Start after ConsumeAndStart = %v, want ErrDuplicate", err)
	}
	// Running it: skipped. Not running it (a restarted connector): ErrDuplicate.
	if cs, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 16, 0, []string{sid}); err != nil || len(cs) != 0 {
		t.Errorf("ConsumeAndStart while running = %+v, %v; want nothing", cs, err)
	}
	cs2, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 16, 0, nil)
	if err != nil || len(cs2) != 1 || !errors.Is(cs2[0].Err, ErrDuplicate) || cs2[0].StreamID != sid {
		t.Fatalf("ConsumeAndStart after a restart = %+v, %v; want cs as ErrDuplicate", cs2, err)
	}
	if err := e.db.Reply(ctx, e.acct, cs[0].Delivery, echo(cs[0].Command)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || resultID(t, r.res) != "cs" {
		t.Fatalf("Submit = %+v", r)
	}

	// A duplicate id, a command past its deadline, one its relay gave up on,
	// and an entry that is not a command, in one batch.
	soon := newCommand("soon", time.Second)
	for _, c := range []*openqq.Command{newCommand("dup", time.Minute), newCommand("dup", time.Minute), soon} {
		if err := e.db.Enqueue(ctx, e.acct, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.Submit(ctx, e.acct, newCommand("gone", 100*time.Millisecond)); !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit with no connector = %v, want ErrTimeout", err)
	}
	bad := &redis.XAddArgs{Stream: commandsKey(e.acct), Values: []any{"id", "x", "api", "y", "deadline", "soon"}}
	if err := e.rdb().XAdd(ctx, bad).Err(); err != nil {
		t.Fatal(err)
	}
	sleepUntil(soon.Deadline.Add(10 * time.Millisecond))
	cs = takeClaims(t, e.db, e.acct, "c1")
	var got []string
	for _, c := range cs {
		got = append(got, c.Command.ID+":"+errName(c.Err))
	}
	if want := []string{"dup:nil", "dup:duplicate", "soon:expired", "gone:expired"}; !slices.Equal(got, want) {
		t.Errorf("claims = %v, want %v", got, want)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "soon")).Result(); m != "abandoned" {
		t.Errorf("marker of the late command = %q, want abandoned", m)
	}
	// The bad entry was acknowledged; the four claims stay pending until
	// answered.
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 4 {
		t.Errorf("%d pending, want the 4 claims", p.Count)
	}
}

// ReclaimAndStart takes over a dead consumer's commands: one it had read
// but not started runs here; one it had started comes back as ErrDuplicate.
func testReclaimAndStart(t *testing.T, e *testEnv) {
	ctx := t.Context()
	for _, id := range []string{"read", "started"} {
		if err := e.db.Enqueue(ctx, e.acct, newCommand(id, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	dead := e.open(t, Options{})
	ds, err := dead.Consume(ctx, e.acct, "dead", 2, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	if err := dead.Start(ctx, e.acct, ds[1]); err != nil {
		t.Fatal(err)
	}
	dead.Close()
	cs, err := e.db.ReclaimAndStart(ctx, e.acct, "alive", 0, nil)
	if err != nil || len(cs) != 2 {
		t.Fatalf("ReclaimAndStart = %+v, %v", cs, err)
	}
	if cs[0].Command.ID != "read" || cs[0].Err != nil || cs[0].Deliveries != 2 {
		t.Errorf("first claim = %+v, want read, started now", cs[0])
	}
	if cs[1].Command.ID != "started" || !errors.Is(cs[1].Err, ErrDuplicate) {
		t.Errorf("second claim = %+v, want started, ErrDuplicate", cs[1])
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "read")).Result(); m != "started "+cs[0].StreamID {
		t.Errorf("marker = %q", m)
	}
	if _, err := e.db.ReclaimAndStart(ctx, e.acct, "alive", -time.Second, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative min idle = %v, want ErrInvalid", err)
	}
}

func errName(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrDuplicate):
		return "duplicate"
	case errors.Is(err, ErrExpired):
		return "expired"
	}
	return err.Error()
}

// A command whose deadline passes while the read is blocked is claimed by
// the script (it judged by the time the call was sent) but comes back
// expired: answered with ErrTimeout, its relay hears that it never ran.
func testConsumeAndStartDeadlineDuringBlock(t *testing.T, e *testEnv) {
	ctx := t.Context()
	conn := e.open(t, Options{})
	var calls atomic.Int32
	conn.now = func() time.Time {
		if calls.Add(1) == 1 {
			return time.Now() // when the read is sent
		}
		return time.Now().Add(time.Hour) // when it returns, much later
	}
	done := submitAsync(t, e.db, e.acct, newCommand("stale", 2*time.Second))
	var cs []Claim
	for len(cs) == 0 {
		calls.Store(0)
		var err error
		if cs, err = conn.ConsumeAndStart(ctx, e.acct, "c1", 1, 500*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(cs) != 1 || !errors.Is(cs[0].Err, ErrExpired) {
		t.Fatalf("claims = %+v, want stale expired", cs)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "stale")).Result(); m != "started "+cs[0].StreamID {
		t.Errorf("marker = %q, want started (by the script)", m)
	}
	if err := conn.Reply(ctx, e.acct, cs[0].Delivery, openqq.ErrorResult(openqq.ErrTimeout)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.res.Code != openqq.ErrTimeout.Code {
		t.Errorf("Submit = %+v, want the timeout answer", r)
	}
}
