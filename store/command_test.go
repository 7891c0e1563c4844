package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// echo is the result a test connector answers: the command it ran.
func echo(cmd openqq.Command) openqq.Result {
	res, _ := openqq.NewResult(0, map[string]any{"id": cmd.ID, "api": cmd.API, "params": cmd.Params})
	return res
}

// serve runs a connector loop (ConsumeAndStart → Reply) until the test
// ends; ran counts the commands it ran.
func serve(t *testing.T, db *DB, acct, consumer string) (ran func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		n  int
	)
	wg.Go(func() {
		for ctx.Err() == nil {
			cs, err := db.ConsumeAndStart(ctx, acct, consumer, 16, 200*time.Millisecond)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("consume: %v", err)
				}
				return
			}
			for _, c := range cs {
				d := c.Delivery
				switch err := c.Err; {
				case err == nil:
					mu.Lock()
					n++
					mu.Unlock()
					if err := db.Reply(ctx, acct, d, echo(d.Command)); err != nil {
						t.Errorf("reply: %v", err)
					}
				case errors.Is(err, ErrExpired):
					db.Ack(ctx, acct, d)
				default:
					t.Errorf("start: %v", err)
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func newCommand(id string, d time.Duration) *openqq.Command {
	return &openqq.Command{ID: id, API: openqq.APISendFriendMessage,
		Params: map[string]string{"id": "2", "content": "hi"}, Deadline: time.Now().Add(d)}
}

func resultID(t *testing.T, res openqq.Result) string {
	t.Helper()
	var body struct{ ID string }
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("result body %s: %v", res.Body, err)
	}
	return body.ID
}

func testSubmitReply(t *testing.T, e *testEnv) {
	ctx := t.Context()
	serve(t, e.open(t, Options{}), e.acct, "c1")
	cmd := newCommand("cmd-1", 10*time.Second)
	res, err := e.db.Submit(ctx, e.acct, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 || resultID(t, res) != "cmd-1" {
		t.Errorf("result = %+v", res)
	}

	// The stream entry, key by key.
	msgs, _ := e.rdb().XRange(ctx, commandsKey(e.acct), "-", "+").Result()
	if len(msgs) != 1 {
		t.Fatalf("XRANGE %s: %d entries, want 1", commandsKey(e.acct), len(msgs))
	}
	v := msgs[0].Values
	if v["id"] != "cmd-1" || v["api"] != openqq.APISendFriendMessage || v["params"] != `{"content":"hi","id":"2"}` ||
		v["deadline"] != fmt.Sprint(cmd.Deadline.UnixMilli()) || v["created"] != fmt.Sprint(cmd.Created.UnixMilli()) {
		t.Errorf("stream entry = %v", v)
	}
	if _, ok := v["async"]; ok {
		t.Errorf("async field on a waited command: %v", v)
	}
	// The id is the caller's, so an idempotency key: its marker holds the
	// entry until the deadline plus slack. Answered: reply popped, acked.
	if m, _ := e.rdb().Get(ctx, markerKey(e.acct, "cmd-1")).Result(); m != msgs[0].ID {
		t.Errorf("marker = %q, want the stream id %s", m, msgs[0].ID)
	}
	if ttl, _ := e.rdb().PTTL(ctx, markerKey(e.acct, "cmd-1")).Result(); ttl <= markerSlack || ttl > 10*time.Second+markerSlack {
		t.Errorf("marker PTTL = %v, want deadline + slack", ttl)
	}
	if n, _ := e.rdb().Exists(ctx, replyKey(e.acct, "cmd-1")).Result(); n != 0 {
		t.Error("reply list left behind")
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d commands still pending", p.Count)
	}
}

func testEnqueue(t *testing.T, e *testEnv) {
	ctx := t.Context()
	cmd := newCommand("", time.Minute)
	if err := e.db.Enqueue(ctx, e.acct, cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.ID == "" || !cmd.Async || cmd.Created.IsZero() {
		t.Errorf("Enqueue left the command %+v", cmd)
	}
	msgs, _ := e.rdb().XRange(ctx, commandsKey(e.acct), "-", "+").Result()
	if len(msgs) != 1 || msgs[0].Values["async"] != "1" || msgs[0].Values["id"] != cmd.ID {
		t.Fatalf("stream = %v", msgs)
	}
	ds, err := e.db.Consume(ctx, e.acct, "c1", 10, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Consume = %v, %v", ds, err)
	}
	d := ds[0]
	if d.StreamID != msgs[0].ID || d.Deliveries != 1 || !d.Command.Async || d.Command.ID != cmd.ID ||
		d.Command.Params["content"] != "hi" || d.Command.Deadline.UnixMilli() != cmd.Deadline.UnixMilli() {
		t.Errorf("delivery = %+v", d)
	}
	if err := e.db.Reply(ctx, e.acct, d, echo(d.Command)); err != nil {
		t.Fatal(err)
	}
	// Nobody waits for an async command: no reply list, but the ack. A
	// generated id needs no idempotency marker.
	if n, _ := e.rdb().Exists(ctx, replyKey(e.acct, cmd.ID), markerKey(e.acct, cmd.ID)).Result(); n != 0 {
		t.Error("reply or marker written for an async command with a generated id")
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending", p.Count)
	}
	if err := e.db.Enqueue(ctx, e.acct, newCommand("late", -time.Second)); !errors.Is(err, openqq.ErrTimeout) {
		t.Errorf("Enqueue past deadline = %v, want ErrTimeout", err)
	}
}

func testSubmitInvalid(t *testing.T, e *testEnv) {
	ctx := t.Context()
	long := make([]byte, maxCommandIDLen+1)
	for i := range long {
		long[i] = 'x'
	}
	for name, c := range map[string]struct {
		acct string
		cmd  *openqq.Command
	}{
		"nil command":  {e.acct, nil},
		"no api":       {e.acct, &openqq.Command{ID: "a", Deadline: time.Now().Add(time.Second)}},
		"no deadline":  {e.acct, &openqq.Command{ID: "a", API: "x"}},
		"long id":      {e.acct, &openqq.Command{ID: string(long), API: "x", Deadline: time.Now().Add(time.Second)}},
		"far deadline": {e.acct, newCommand("a", 25*time.Hour)},
		"bad account":  {"", newCommand("a", time.Second)},
		"brace in acc": {"x}", newCommand("a", time.Second)},
	} {
		if _, err := e.db.Submit(ctx, c.acct, c.cmd); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Submit = %v, want ErrInvalid", name, err)
		}
		if err := e.db.Enqueue(ctx, c.acct, c.cmd); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Enqueue = %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := e.rdb().XLen(ctx, commandsKey(e.acct)).Result(); n != 0 {
		t.Errorf("%d invalid commands queued", n)
	}
}

func testSubmitPastDeadline(t *testing.T, e *testEnv) {
	ctx := t.Context()
	_, err := e.db.Submit(ctx, e.acct, newCommand("old", -time.Millisecond))
	if !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v, want ErrTimeout", err)
	}
	if oe, ok := errors.AsType[*openqq.Error](err); !ok || oe.Code != 504 {
		t.Errorf("error %v does not carry the Openqq code", err)
	}
	if n, _ := e.rdb().Exists(ctx, commandsKey(e.acct)).Result(); n != 0 {
		t.Error("a command past its deadline was queued")
	}
}

func testSubmitClampsToContext(t *testing.T, e *testEnv) {
	// A ctx that ends before the command's deadline moves the deadline, so
	// Submit still settles the command before ctx ends.
	ctx, cancel := context.WithTimeout(t.Context(), testGrace+time.Second)
	defer cancel()
	cmd := waited(time.Hour)
	_, err := e.db.Submit(ctx, e.acct, cmd)
	if !errors.Is(err, openqq.ErrTimeout) {
		t.Fatalf("Submit = %v, want ErrTimeout (nobody consumes)", err)
	}
	if ctx.Err() != nil {
		t.Error("Submit ran until its ctx ended")
	}
	if d, _ := ctx.Deadline(); !cmd.Deadline.Before(d) {
		t.Errorf("deadline %v not moved before ctx's %v", cmd.Deadline, d)
	}
	if n := streamLen(t, e); n != 0 {
		t.Errorf("%d entries left, want the expired command deleted", n)
	}
}

func testSubmitConcurrent(t *testing.T, e *testEnv) {
	ran1 := serve(t, e.open(t, Options{}), e.acct, "c1")
	ran2 := serve(t, e.open(t, Options{}), e.acct, "c2")
	const callers, each = 8, 10
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("c%d-%d", c, i)
				res, err := e.db.Submit(t.Context(), e.acct, newCommand(id, 20*time.Second))
				if err != nil {
					t.Errorf("%s: %v", id, err)
					continue
				}
				if got := resultID(t, res); got != id {
					t.Errorf("%s got the result of %s", id, got)
				}
			}
		})
	}
	wg.Wait()
	if n := ran1() + ran2(); n != callers*each {
		t.Errorf("ran %d commands, want %d", n, callers*each)
	}
}

func testConsumeCreatesGroup(t *testing.T, e *testEnv) {
	ctx := t.Context()
	// A command queued before any connector ever ran is still delivered: the
	// group starts at the beginning of the stream.
	if err := e.db.Enqueue(ctx, e.acct, newCommand("early", time.Minute)); err != nil {
		t.Fatal(err)
	}
	ds, err := e.db.Consume(ctx, e.acct, "c1", 0, 100*time.Millisecond)
	if err != nil || len(ds) != 1 || ds[0].Command.ID != "early" {
		t.Fatalf("Consume = %+v, %v", ds, err)
	}
	groups, _ := e.rdb().XInfoGroups(ctx, commandsKey(e.acct)).Result()
	if len(groups) != 1 || groups[0].Name != connectorGroup {
		t.Errorf("groups = %+v", groups)
	}
	ds, err = e.db.Consume(ctx, e.acct, "c1", 0, 100*time.Millisecond)
	if err != nil || ds == nil || len(ds) != 0 {
		t.Errorf("Consume on an empty stream = %#v, %v; want empty, nil", ds, err)
	}
	// On a fresh account the group and stream are made on the first read.
	other := e.acct + "-fresh"
	t.Cleanup(func() { e.db.DeleteAccount(context.Background(), other) })
	if ds, err := e.db.Consume(ctx, other, "c1", 0, 0); err != nil || len(ds) != 0 {
		t.Errorf("Consume on a new account = %v, %v", ds, err)
	}
	if ds, err := e.db.Reclaim(ctx, other+"x", "c1", 0); err != nil || len(ds) != 0 {
		t.Errorf("Reclaim on a new account = %v, %v", ds, err)
	}
	e.db.DeleteAccount(ctx, other+"x")
	if _, err := e.db.Consume(ctx, e.acct, "", 1, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Consume without consumer = %v", err)
	}
}

func testConsumeSkipsBadEntries(t *testing.T, e *testEnv) {
	ctx := t.Context()
	key := commandsKey(e.acct)
	e.rdb().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"garbage", "1"}})
	e.db.Enqueue(ctx, e.acct, newCommand("good", time.Minute))
	e.rdb().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"id", "x", "api", "y", "deadline", "soon"}})
	ds, err := e.db.Consume(ctx, e.acct, "c1", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].Command.ID != "good" {
		t.Fatalf("Consume = %+v, %v", ds, err)
	}
	// The bad entries were acknowledged: only the good one is pending.
	if p, _ := e.rdb().XPending(ctx, key, connectorGroup).Result(); p.Count != 1 {
		t.Errorf("%d pending, want 1", p.Count)
	}
}

func testReplyBatch(t *testing.T, e *testEnv) {
	ctx := t.Context()
	const n = 520
	for i := range n {
		if err := e.db.Enqueue(ctx, e.acct, newCommand(fmt.Sprint("b", i), time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	var ds []Delivery
	for len(ds) < n {
		batch, err := e.db.Consume(ctx, e.acct, "c1", 1000, 0)
		if err != nil || len(batch) == 0 {
			t.Fatalf("Consume = %d, %v", len(batch), err)
		}
		ds = append(ds, batch...)
	}
	answers := make([]Answer, n)
	for i, d := range ds[:n] {
		answers[i] = Answer{Delivery: d, Result: echo(d.Command)}
	}
	if err := e.db.ReplyAll(ctx, e.acct, answers); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending after ReplyAll", p.Count)
	}
}

// PublishAndReply writes the post a command caused and its answer in one
// transaction: the caller's Submit gets the answer, the post is in the
// events stream and the check_event buffer, the command is acknowledged.
func testPublishAndReply(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if err := e.db.PublishAndReply(ctx, e.acct, nil, nil); err != nil {
		t.Fatalf("empty PublishAndReply = %v", err)
	}
	type submitted struct {
		res openqq.Result
		err error
	}
	got := make(chan submitted, 1)
	go func() {
		res, err := e.db.Submit(ctx, e.acct, newCommand("pr", 10*time.Second))
		got <- submitted{res, err}
	}()
	var ds []Delivery
	for len(ds) == 0 {
		var err error
		if ds, err = e.db.Consume(ctx, e.acct, "c1", 1, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	post := []byte(`{"post_type":"send_message","id":"1"}`)
	bad := []Publication{{Post: []byte("{")}}
	if err := e.db.PublishAndReply(ctx, e.acct, bad, []Answer{{Delivery: ds[0], Result: echo(ds[0].Command)}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("PublishAndReply with a bad post = %v, want ErrInvalid", err)
	}
	err := e.db.PublishAndReply(ctx, e.acct, []Publication{{Post: post, CheckEventMax: 5}},
		[]Answer{{Delivery: ds[0], Result: echo(ds[0].Command)}})
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.err != nil || resultID(t, s.res) != "pr" {
		t.Fatalf("Submit = %+v", s)
	}
	evs, err := e.db.ReadEvents(ctx, e.acct, "0", 10, 0)
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != string(post) {
		t.Errorf("events = %v, %v; want the one post", evs, err)
	}
	if ce, err := e.db.TakeCheckEvents(ctx, e.acct, 0); err != nil || len(ce) != 1 {
		t.Errorf("check_event buffer = %s, %v; want the post", ce, err)
	}
	if p, _ := e.rdb().XPending(ctx, commandsKey(e.acct), connectorGroup).Result(); p.Count != 0 {
		t.Errorf("%d pending after PublishAndReply", p.Count)
	}
}
