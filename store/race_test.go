package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// The races of the command bus. Each case drives the relay (e.db) and one or
// two connectors (their own DBs) through an interleaving and checks the
// outcome and the keys; none asserts how long anything took.

// submitAsync runs Submit in the background.
func submitAsync(t *testing.T, db *DB, acct string, cmd *openqq.Command) <-chan submitResult {
	ch := make(chan submitResult, 1)
	go func() {
		res, err := db.Submit(t.Context(), acct, cmd)
		ch <- submitResult{res, err}
	}()
	return ch
}

type submitResult struct {
	res openqq.Result
	err error
}

// consumeOne waits for the next delivery.
func consumeOne(t *testing.T, db *DB, acct, consumer string) Delivery {
	t.Helper()
	for range 50 {
		ds, err := db.Consume(t.Context(), acct, consumer, 1, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 {
			return ds[0]
		}
	}
	t.Fatal("no delivery")
	return Delivery{}
}

// startBy is the deadline of commands a test connector must Start in time:
// long enough for a loaded CI machine under the race detector.
const startBy = 2 * time.Second

// sleepUntil waits until the wall clock passes t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func testRaceDeadlineBeforeStart(t *testing.T, e *testEnv) {
	// Nobody picks the command up before its deadline: ErrTimeout, and the
	// connector that finally reads it must not run it.
	ctx := t.Context()
	cmd := newCommand("late", 300*time.Millisecond)
	if _, err := e.db.Submit(ctx, e.acct, cmd); !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v, want ErrTimeout", err)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "late")).Result(); m != "abandoned" {
		t.Errorf("marker = %q, want abandoned", m)
	}
	if ttl, _ := e.rdb().PTTL(ctx, markerKey(e.acct, "late")).Result(); ttl <= 0 || ttl > markerSlack {
		t.Errorf("marker PTTL = %v", ttl)
	}
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1")
	if err := conn.Start(ctx, e.acct, d); !errors.Is(err, ErrExpired) {
		t.Fatalf("Start = %v, want ErrExpired", err)
	}
	if err := conn.Ack(ctx, e.acct, d); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
}

func testRaceCrashAfterStart(t *testing.T, e *testEnv) {
	// The connector starts the command and dies: the relay answers
	// ErrOutcomeUnknown after the grace; the connector that reclaims it
	// gets ErrDuplicate and never runs it again.
	ctx := t.Context()
	cmd := newCommand("crash", startBy)
	done := submitAsync(t, e.db, e.acct, cmd)
	crashed := e.open(t, Options{})
	d := consumeOne(t, crashed, e.acct, "dead")
	if err := crashed.Start(ctx, e.acct, d); err != nil {
		t.Fatal(err)
	}
	crashed.Close() // no Reply, no Ack
	r := <-done
	if !errors.Is(r.err, openqq.ErrOutcomeUnknown) {
		t.Fatalf("Submit = %+v, want ErrOutcomeUnknown", r)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "crash")).Result(); m != "started "+d.StreamID {
		t.Errorf("marker = %q", m)
	}

	next := e.open(t, Options{})
	ds, err := next.Reclaim(ctx, e.acct, "alive", 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Reclaim = %+v, %v", ds, err)
	}
	if ds[0].StreamID != d.StreamID || ds[0].Deliveries != 2 || ds[0].Command.ID != "crash" {
		t.Errorf("reclaimed %+v", ds[0])
	}
	if err := next.Start(ctx, e.acct, ds[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Start after reclaim = %v, want ErrDuplicate", err)
	}
	// The connector's answer for a duplicate: outcome unknown, pushed for a
	// relay that might still wait, with a TTL since this one has gone.
	if err := next.Reply(ctx, e.acct, ds[0], openqq.ErrorResult(openqq.ErrOutcomeUnknown)); err != nil {
		t.Fatal(err)
	}
	items, _ := e.rdb().LRange(ctx, replyKey(e.acct, "crash"), 0, -1).Result()
	if len(items) != 1 {
		t.Fatalf("reply list = %v", items)
	}
	if res, _ := decodeResult(items[0]); res.Code != openqq.ErrOutcomeUnknown.Code {
		t.Errorf("reply = %s", items[0])
	}
	if ttl, _ := e.rdb().PTTL(ctx, replyKey(e.acct, "crash")).Result(); ttl <= 0 || ttl > DefaultReplyTTL {
		t.Errorf("orphaned reply PTTL = %v, want (0, %v]", ttl, DefaultReplyTTL)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
}

func testRaceReplyWithinGrace(t *testing.T, e *testEnv) {
	// Started before the deadline, answered after it but within the grace:
	// the caller gets the real result.
	ctx := t.Context()
	relay := e.open(t, Options{ReplyGrace: 5 * time.Second})
	cmd := newCommand("slow", startBy)
	deadline := cmd.Deadline
	done := submitAsync(t, relay, e.acct, cmd)
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1")
	if err := conn.Start(ctx, e.acct, d); err != nil {
		t.Fatal(err)
	}
	sleepUntil(deadline.Add(100 * time.Millisecond))
	if err := conn.Reply(ctx, e.acct, d, echo(d.Command)); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || resultID(t, r.res) != "slow" {
		t.Fatalf("Submit = %+v", r)
	}
}

func testRaceReplyAfterGrace(t *testing.T, e *testEnv) {
	// The answer comes after the relay gave up: it is pushed with a TTL and
	// expires unread.
	ctx := t.Context()
	cmd := newCommand("slower", startBy)
	deadline := cmd.Deadline
	done := submitAsync(t, e.db, e.acct, cmd)
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1")
	if err := conn.Start(ctx, e.acct, d); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if !errors.Is(r.err, openqq.ErrOutcomeUnknown) {
		t.Fatalf("Submit = %+v, want ErrOutcomeUnknown", r)
	}
	if time.Now().Before(deadline.Add(testGrace)) {
		t.Error("Submit gave up before deadline + grace")
	}
	if err := conn.Reply(ctx, e.acct, d, echo(d.Command)); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, replyKey(e.acct, "slower")).Result(); ttl <= 0 || ttl > DefaultReplyTTL {
		t.Errorf("late reply PTTL = %v", ttl)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "slower")).Result(); m != "done" {
		t.Errorf("marker = %q", m)
	}
}

func testRaceConnectorClockAhead(t *testing.T, e *testEnv) {
	// A connector whose clock runs ahead sees the deadline passed: it marks
	// the command abandoned and never runs it, and the relay, at its own
	// deadline, answers ErrTimeout (the command provably never ran).
	ctx := t.Context()
	cmd := newCommand("skew", 500*time.Millisecond)
	done := submitAsync(t, e.db, e.acct, cmd)
	conn := e.open(t, Options{})
	conn.now = func() time.Time { return time.Now().Add(time.Hour) }
	d := consumeOne(t, conn, e.acct, "c1")
	if err := conn.Start(ctx, e.acct, d); !errors.Is(err, ErrExpired) {
		t.Fatalf("Start = %v, want ErrExpired", err)
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "skew")).Result(); m != "abandoned" {
		t.Errorf("marker = %q", m)
	}
	if r := <-done; !errors.Is(r.err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %+v, want ErrTimeout", r)
	}
}

func testRaceDuplicateID(t *testing.T, e *testEnv) {
	// The same command id queued twice (a retried XADD, a resubmitting
	// caller): it runs once, and the duplicate's answer does not overtake
	// the real one.
	ctx := t.Context()
	for range 2 {
		if err := e.db.Enqueue(ctx, e.acct, newCommand("twice", time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := e.db.Consume(ctx, e.acct, "c1", 2, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	for i := range ds {
		ds[i].Command.Async = false // as if both were waited for
	}
	if err := e.db.Start(ctx, e.acct, ds[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Start(ctx, e.acct, ds[1]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Start = %v, want ErrDuplicate", err)
	}
	if err := e.db.Reply(ctx, e.acct, ds[1], openqq.ErrorResult(openqq.ErrOutcomeUnknown)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb().LLen(ctx, replyKey(e.acct, "twice")).Result(); n != 0 {
		t.Fatalf("the duplicate's answer was pushed (%d items)", n)
	}
	if err := e.db.Reply(ctx, e.acct, ds[0], echo(ds[0].Command)); err != nil {
		t.Fatal(err)
	}
	items, _ := e.rdb().LRange(ctx, replyKey(e.acct, "twice"), 0, -1).Result()
	if len(items) != 1 {
		t.Fatalf("reply list = %v", items)
	}
	if res, _ := decodeResult(items[0]); res.Code != 0 {
		t.Errorf("reply = %s, want the real result", items[0])
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
}

func testRaceFirstAnswerWins(t *testing.T, e *testEnv) {
	ctx := t.Context()
	cmd := newCommand("once", time.Minute)
	cmd.Async = false
	done := submitAsync(t, e.db, e.acct, cmd)
	d := consumeOne(t, e.db, e.acct, "c1")
	if err := e.db.Start(ctx, e.acct, d); err != nil {
		t.Fatal(err)
	}
	first, _ := openqq.NewResult(0, "first")
	second, _ := openqq.NewResult(0, "second")
	if err := e.db.Reply(ctx, e.acct, d, first); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Reply(ctx, e.acct, d, second); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string(r.res.Body) != `"first"` {
		t.Fatalf("Submit = %+v %s", r, r.res.Body)
	}
	if n, _ := e.rdb().LLen(ctx, replyKey(e.acct, "once")).Result(); n != 0 {
		t.Errorf("second answer pushed too (%d left)", n)
	}
}

func testRaceReclaimNotStarted(t *testing.T, e *testEnv) {
	// A connector read the command and died before Start: the next one
	// reclaims and runs it, and the caller gets the result.
	ctx := t.Context()
	done := submitAsync(t, e.db, e.acct, newCommand("orphan", 20*time.Second))
	dead := e.open(t, Options{})
	d := consumeOne(t, dead, e.acct, "dead")
	dead.Close()
	next := e.open(t, Options{})
	ds, err := next.Reclaim(ctx, e.acct, "alive", 0)
	if err != nil || len(ds) != 1 || ds[0].StreamID != d.StreamID || ds[0].Deliveries != 2 {
		t.Fatalf("Reclaim = %+v, %v", ds, err)
	}
	if err := next.Start(ctx, e.acct, ds[0]); err != nil {
		t.Fatal(err)
	}
	if err := next.Reply(ctx, e.acct, ds[0], echo(ds[0].Command)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || resultID(t, r.res) != "orphan" {
		t.Fatalf("Submit = %+v", r)
	}
	// Nothing left to reclaim: the loop ran to the end of the pending list.
	if ds, err := next.Reclaim(ctx, e.acct, "alive", 0); err != nil || len(ds) != 0 {
		t.Errorf("second Reclaim = %v, %v", ds, err)
	}
}

func testRaceReplyToAbandoned(t *testing.T, e *testEnv) {
	// A connector that answers a command its relay abandoned (without
	// calling Start) pushes nothing: nobody would read it.
	ctx := t.Context()
	if _, err := e.db.Submit(ctx, e.acct, newCommand("gone", 200*time.Millisecond)); !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v", err)
	}
	d := consumeOne(t, e.db, e.acct, "c1")
	if err := e.db.Reply(ctx, e.acct, d, echo(d.Command)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb().Exists(ctx, replyKey(e.acct, "gone")).Result(); n != 0 {
		t.Error("reply pushed for an abandoned command")
	}
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "gone")).Result(); m != "abandoned" {
		t.Errorf("marker = %q", m)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
}

func testRaceSubmitCancelled(t *testing.T, e *testEnv) {
	// The caller goes away: Submit returns its ctx error and the command
	// never starts.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.db.Submit(ctx, e.acct, newCommand("cancelled", time.Minute))
		done <- err
	}()
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1") // queued: now cancel the caller
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit = %v, want context.Canceled", err)
	}
	if err := conn.Start(t.Context(), e.acct, d); !errors.Is(err, ErrExpired) {
		t.Fatalf("Start after cancel = %v, want ErrExpired", err)
	}
}

func testRaceFarDeadlineEntry(t *testing.T, e *testEnv) {
	// An entry written by someone else with a deadline in year 9999 is
	// started like any other; its marker's TTL stays a number Redis takes.
	ctx := t.Context()
	e.rdb().XAdd(ctx, &redis.XAddArgs{Stream: commandsKey(e.acct), Values: []any{
		"id", "far", "api", "x", "deadline", "253402300799000"}})
	if err := e.db.Enqueue(ctx, e.acct, newCommand("near", time.Minute)); err != nil {
		t.Fatal(err)
	}
	ds, err := e.db.Consume(ctx, e.acct, "c1", 10, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	errs, err := e.db.StartAll(ctx, e.acct, ds)
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("StartAll = %v, %v", errs, err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, markerKey(e.acct, "far")).Result(); ttl <= 0 || ttl > 24*time.Hour+markerSlack {
		t.Errorf("marker PTTL = %v", ttl)
	}
	if err := e.db.ReplyAll(ctx, e.acct, []Answer{{ds[0], echo(ds[0].Command)}, {ds[1], echo(ds[1].Command)}}); err != nil {
		t.Fatal(err)
	}
}
