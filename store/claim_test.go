package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// takeClaims calls ConsumeAndStart until it returns something.
func takeClaims(t *testing.T, db *DB, acct, consumer string) []Claim {
	t.Helper()
	for range 50 {
		cs, err := db.ConsumeAndStart(t.Context(), acct, consumer, 16, 200*time.Millisecond)
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

// ConsumeAndStart: what it reads has started and stays pending until
// answered; a command past its deadline comes back expired; an id queued
// twice is queued once; an entry that is not a command is dropped.
func testConsumeAndStart(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if cs, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 0, 0); err != nil || len(cs) != 0 {
		t.Fatalf("ConsumeAndStart on a new account = %v, %v; want nothing (and a group)", cs, err)
	}
	done := submitAsync(t, e.db, e.acct, &openqq.Command{API: openqq.APISendFriendMessage, Deadline: time.Now().Add(10 * time.Second)})
	cs := takeClaims(t, e.db, e.acct, "c1")
	if len(cs) != 1 || cs[0].Err != nil || cs[0].Deliveries != 1 {
		t.Fatalf("claims = %+v, want one started", cs)
	}
	if cs, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 16, 0); err != nil || len(cs) != 0 {
		t.Errorf("a second read = %+v, %v; want nothing", cs, err)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 1 {
		t.Errorf("%d pending, want the started command", p.Count)
	}
	if err := e.db.Reply(ctx, e.acct, cs[0].Delivery, echo(cs[0].Command)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || resultID(t, r.res) != cs[0].Command.ID {
		t.Fatalf("Submit = %+v", r)
	}

	// An id queued twice, a command past its deadline, one its relay gave up
	// on, and an entry that is not a command, in one batch.
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
	if want := []string{"dup:nil", "soon:expired"}; !slices.Equal(got, want) {
		t.Errorf("claims = %v, want %v", got, want)
	}
	// The bad entry was acknowledged; the claims stay pending until answered.
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 2 {
		t.Errorf("%d pending, want the 2 claims", p.Count)
	}
}

// ReclaimAndStart takes over a dead consumer's commands, which had started,
// as ErrDuplicate, and leaves out those the caller says it is running.
func testReclaimAndStart(t *testing.T, e *testEnv) {
	ctx := t.Context()
	for _, id := range []string{"a", "b", "mine"} {
		if err := e.db.Enqueue(ctx, e.acct, newCommand(id, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	dead := e.open(t, Options{})
	ds, err := dead.Consume(ctx, e.acct, "dead", 2, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	dead.Close()
	mine, err := e.db.Consume(ctx, e.acct, "alive", 1, 0)
	if err != nil || len(mine) != 1 {
		t.Fatalf("Consume = %v, %v", mine, err)
	}
	cs, err := e.db.ReclaimAndStart(ctx, e.acct, "alive", 0, []string{mine[0].StreamID})
	if err != nil || len(cs) != 2 {
		t.Fatalf("ReclaimAndStart = %+v, %v", cs, err)
	}
	for i, id := range []string{"a", "b"} {
		if cs[i].Command.ID != id || !errors.Is(cs[i].Err, ErrDuplicate) || cs[i].Deliveries != 2 {
			t.Errorf("claim %d = %+v, want %s, ErrDuplicate, delivered twice", i, cs[i], id)
		}
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

// A command whose deadline has passed when the read returns (a read that
// blocked long, here a connector clock an hour ahead) comes back expired:
// answered with ErrTimeout, its relay hears that it never ran.
func testConsumeAndStartDeadlineDuringBlock(t *testing.T, e *testEnv) {
	conn := e.open(t, Options{})
	conn.now = func() time.Time { return time.Now().Add(time.Hour) }
	done := submitAsync(t, e.db, e.acct, newCommand("", 2*time.Second))
	var cs []Claim
	for len(cs) == 0 {
		var err error
		if cs, err = conn.ConsumeAndStart(t.Context(), e.acct, "c1", 1, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(cs) != 1 || !errors.Is(cs[0].Err, ErrExpired) {
		t.Fatalf("claims = %+v, want the command expired", cs)
	}
	if err := conn.Reply(t.Context(), e.acct, cs[0].Delivery, openqq.ErrorResult(openqq.ErrTimeout)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.res.Code != openqq.ErrTimeout.Code {
		t.Errorf("Submit = %+v, want the timeout answer", r)
	}
}
