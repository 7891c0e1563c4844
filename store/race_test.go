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

// waited is a command with no id, as the relay submits them.
func waited(d time.Duration) *openqq.Command {
	return newCommand("", d)
}

// streamLen is the number of entries in the account's commands stream.
func streamLen(t *testing.T, e *testEnv) int64 {
	t.Helper()
	n, err := e.rdb().XLen(t.Context(), commandsKey(e.acct)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testRaceDeadlineBeforeStart(t *testing.T, e *testEnv) {
	// Nobody picks the command up before its deadline: ErrTimeout, and the
	// entry is gone, so no connector that comes later can run it.
	ctx := t.Context()
	if _, err := e.db.Submit(ctx, e.acct, waited(300*time.Millisecond)); !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v, want ErrTimeout", err)
	}
	if n := streamLen(t, e); n != 0 {
		t.Errorf("%d entries left in the stream, want the expired one deleted", n)
	}
	conn := e.open(t, Options{})
	if cs, err := conn.ConsumeAndStart(ctx, e.acct, "c1", 16, 0); err != nil || len(cs) != 0 {
		t.Fatalf("a connector after the deadline read %+v, %v; want nothing", cs, err)
	}
	// The same with the group already there (a connector that was down).
	if _, err := e.db.Submit(ctx, e.acct, waited(300*time.Millisecond)); !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v, want ErrTimeout", err)
	}
	if cs, err := conn.ConsumeAndStart(ctx, e.acct, "c1", 16, 0); err != nil || len(cs) != 0 {
		t.Fatalf("a connector after the deadline read %+v, %v; want nothing", cs, err)
	}
}

func testRaceCrashAfterStart(t *testing.T, e *testEnv) {
	// The connector reads the command (it has started) and dies: the relay
	// answers ErrOutcomeUnknown after the grace; the connector that reclaims
	// it gets ErrDuplicate and never runs it again.
	ctx := t.Context()
	cmd := waited(startBy)
	done := submitAsync(t, e.db, e.acct, cmd)
	crashed := e.open(t, Options{})
	d := consumeOne(t, crashed, e.acct, "dead")
	crashed.Close() // no Reply, no Ack
	r := <-done
	if !errors.Is(r.err, openqq.ErrOutcomeUnknown) {
		t.Fatalf("Submit = %+v, want ErrOutcomeUnknown", r)
	}
	if n := streamLen(t, e); n != 1 {
		t.Errorf("%d entries in the stream, want the started one kept", n)
	}

	next := e.open(t, Options{})
	cs, err := next.ReclaimAndStart(ctx, e.acct, "alive", 0, nil)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ReclaimAndStart = %+v, %v", cs, err)
	}
	if cs[0].StreamID != d.StreamID || cs[0].Deliveries != 2 || cs[0].Command.ID != d.Command.ID || !errors.Is(cs[0].Err, ErrDuplicate) {
		t.Errorf("reclaimed %+v, want it as a duplicate", cs[0])
	}
	// The connector's answer for a duplicate: outcome unknown, pushed for a
	// relay that might still wait, with a TTL since this one has gone.
	if err := next.Reply(ctx, e.acct, cs[0].Delivery, openqq.ErrorResult(openqq.ErrOutcomeUnknown)); err != nil {
		t.Fatal(err)
	}
	items, _ := e.rdb().LRange(ctx, replyKey(e.acct, d.Command.ID), 0, -1).Result()
	if len(items) != 1 {
		t.Fatalf("reply list = %v", items)
	}
	if res, _ := decodeResult(items[0]); res.Code != openqq.ErrOutcomeUnknown.Code {
		t.Errorf("reply = %s", items[0])
	}
	if ttl, _ := e.rdb().PTTL(ctx, replyKey(e.acct, d.Command.ID)).Result(); ttl <= 0 || ttl > DefaultReplyTTL {
		t.Errorf("orphaned reply PTTL = %v, want (0, %v]", ttl, DefaultReplyTTL)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
	if cs, err := next.ReclaimAndStart(ctx, e.acct, "alive", 0, nil); err != nil || len(cs) != 0 {
		t.Errorf("second ReclaimAndStart = %v, %v", cs, err)
	}
}

func testRaceReplyWithinGrace(t *testing.T, e *testEnv) {
	// Read before the deadline, answered after it but within the grace: the
	// caller gets the real result.
	ctx := t.Context()
	relay := e.open(t, Options{ReplyGrace: 5 * time.Second})
	cmd := waited(startBy)
	deadline := cmd.Deadline
	done := submitAsync(t, relay, e.acct, cmd)
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1")
	sleepUntil(deadline.Add(100 * time.Millisecond))
	if err := conn.Reply(ctx, e.acct, d, echo(d.Command)); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || resultID(t, r.res) != d.Command.ID {
		t.Fatalf("Submit = %+v", r)
	}
}

func testRaceReplyAfterGrace(t *testing.T, e *testEnv) {
	// The answer comes after the relay gave up: it is pushed with a TTL and
	// expires unread.
	ctx := t.Context()
	cmd := waited(startBy)
	deadline := cmd.Deadline
	done := submitAsync(t, e.db, e.acct, cmd)
	conn := e.open(t, Options{})
	d := consumeOne(t, conn, e.acct, "c1")
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
	if ttl, _ := e.rdb().PTTL(ctx, replyKey(e.acct, d.Command.ID)).Result(); ttl <= 0 || ttl > DefaultReplyTTL {
		t.Errorf("late reply PTTL = %v", ttl)
	}
}

func testRaceConnectorClockAhead(t *testing.T, e *testEnv) {
	// A connector whose clock runs ahead sees the deadline passed: the
	// command comes back expired, and its answer (ErrTimeout, as the
	// connector gives it) tells the relay it never ran.
	ctx := t.Context()
	done := submitAsync(t, e.db, e.acct, waited(startBy))
	conn := e.open(t, Options{})
	conn.now = func() time.Time { return time.Now().Add(time.Hour) }
	cs := takeClaims(t, conn, e.acct, "c1")
	if len(cs) != 1 || !errors.Is(cs[0].Err, ErrExpired) {
		t.Fatalf("claims = %+v, want the command expired", cs)
	}
	if err := conn.Reply(ctx, e.acct, cs[0].Delivery, openqq.ErrorResult(openqq.ErrTimeout)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.res.Code != openqq.ErrTimeout.Code {
		t.Fatalf("Submit = %+v, want the timeout answer", r)
	}
}

func testRaceDuplicateID(t *testing.T, e *testEnv) {
	// A caller's id is an idempotency key: the same id queued twice (a
	// webhook reply enqueued again after a crash) is queued once, and a
	// second Submit of it waits for the first one's result.
	ctx := t.Context()
	for range 2 {
		if err := e.db.Enqueue(ctx, e.acct, newCommand("twice", time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := streamLen(t, e); n != 1 {
		t.Fatalf("%d entries for one id, want 1", n)
	}
	first := submitAsync(t, e.db, e.acct, newCommand("both", 10*time.Second))
	waitFor(t, "the first submit", func() bool { return streamLen(t, e) == 2 })
	second := submitAsync(t, e.db, e.acct, newCommand("both", 10*time.Second))
	time.Sleep(50 * time.Millisecond) // let the second one queue (it must not)
	if n := streamLen(t, e); n != 2 {
		t.Fatalf("%d entries, want one per id", n)
	}
	ds, err := e.db.Consume(ctx, e.acct, "c1", 10, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	if err := e.db.ReplyAll(ctx, e.acct, []Answer{{ds[0], echo(ds[0].Command)}, {ds[1], echo(ds[1].Command)}}); err != nil {
		t.Fatal(err)
	}
	// One of the two callers gets the result; the other, finding the
	// command read and answered, hears outcome unknown at its deadline.
	var got, unknown int
	for _, ch := range []<-chan submitResult{first, second} {
		switch r := <-ch; {
		case r.err == nil && resultID(t, r.res) == "both":
			got++
		case errors.Is(r.err, openqq.ErrOutcomeUnknown):
			unknown++
		default:
			t.Errorf("Submit = %+v", r)
		}
	}
	if got != 1 || unknown != 1 {
		t.Errorf("%d results and %d unknown, want one each", got, unknown)
	}
}

func testRaceSecondAnswer(t *testing.T, e *testEnv) {
	// A command answered twice (a connector's retried write, or a slow one
	// and the one that took it over): the caller gets the first answer, and
	// the second expires unread.
	ctx := t.Context()
	done := submitAsync(t, e.db, e.acct, waited(time.Minute))
	d := consumeOne(t, e.db, e.acct, "c1")
	first, _ := openqq.NewResult(0, "first")
	second, _ := openqq.NewResult(0, "second")
	if err := e.db.Reply(ctx, e.acct, d, first); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string(r.res.Body) != `"first"` {
		t.Fatalf("Submit = %+v %s", r, r.res.Body)
	}
	if err := e.db.Reply(ctx, e.acct, d, second); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, replyKey(e.acct, d.Command.ID)).Result(); ttl <= 0 || ttl > DefaultReplyTTL {
		t.Errorf("second answer PTTL = %v, want (0, %v]", ttl, DefaultReplyTTL)
	}
}

func testRaceSubmitCancelled(t *testing.T, e *testEnv) {
	// The caller goes away before any connector read the command: Submit
	// returns its ctx error and the command never runs.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.db.Submit(ctx, e.acct, waited(time.Minute))
		done <- err
	}()
	waitFor(t, "the command queued", func() bool { return streamLen(t, e) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit = %v, want context.Canceled", err)
	}
	conn := e.open(t, Options{})
	if cs, err := conn.ConsumeAndStart(t.Context(), e.acct, "c1", 16, 0); err != nil || len(cs) != 0 {
		t.Fatalf("a connector after the cancel read %+v, %v; want nothing", cs, err)
	}
}

func testRaceFarDeadlineEntry(t *testing.T, e *testEnv) {
	// An entry written by someone else with a deadline in year 9999 is
	// started like any other.
	ctx := t.Context()
	e.rdb().XAdd(ctx, &redis.XAddArgs{Stream: commandsKey(e.acct), Values: []any{
		"id", "far", "api", "x", "deadline", "253402300799000"}})
	if err := e.db.Enqueue(ctx, e.acct, newCommand("near", time.Minute)); err != nil {
		t.Fatal(err)
	}
	cs, err := e.db.ConsumeAndStart(ctx, e.acct, "c1", 10, 0)
	if err != nil || len(cs) != 2 || cs[0].Err != nil || cs[1].Err != nil {
		t.Fatalf("ConsumeAndStart = %+v, %v", cs, err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, markerKey(e.acct, "near")).Result(); ttl <= 0 || ttl > time.Minute+markerSlack {
		t.Errorf("marker PTTL = %v", ttl)
	}
	if err := e.db.ReplyAll(ctx, e.acct, []Answer{{cs[0].Delivery, echo(cs[0].Command)}, {cs[1].Delivery, echo(cs[1].Command)}}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
