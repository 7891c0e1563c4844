package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func testAppendEvent(t *testing.T, e *testEnv) {
	ctx := t.Context()
	post := []byte(`{"post_type":"receive_message","content":"hi"}`)
	id, err := e.db.AppendEvent(ctx, e.acct, post)
	if err != nil || id == "" {
		t.Fatalf("AppendEvent = %q, %v", id, err)
	}
	msgs, _ := e.rdb().XRange(ctx, eventsKey(e.acct), "-", "+").Result()
	if len(msgs) != 1 || msgs[0].ID != id || msgs[0].Values["post"] != string(post) || len(msgs[0].Values) != 1 {
		t.Errorf("%s = %+v", eventsKey(e.acct), msgs)
	}
	if _, err := e.db.AppendEvent(ctx, e.acct, []byte("nope")); !errors.Is(err, ErrInvalid) {
		t.Errorf("AppendEvent(bad JSON) = %v", err)
	}
}

func testEventsTrim(t *testing.T, e *testEnv) {
	ctx := t.Context()
	// By length: MAXLEN ~ trims whole stream nodes (100 entries each on
	// Redis), so the length ends between the cap and cap + a node.
	db := e.open(t, Options{EventsMaxLen: 10})
	for i := range 350 {
		if _, err := db.AppendEvent(ctx, e.acct, fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := e.rdb().XLen(ctx, eventsKey(e.acct)).Result(); n < 10 || n > 110 {
		t.Errorf("XLEN after 350 appends with cap 10 = %d", n)
	}
	// By age: 150 entries from 1970 go once a new one comes (MINID ~).
	aged := e.acct + "-aged"
	t.Cleanup(func() { e.db.DeleteAccount(context.Background(), aged) })
	for i := range 150 {
		e.rdb().XAdd(ctx, &redis.XAddArgs{Stream: eventsKey(aged), ID: strconv.Itoa(1000+i) + "-0", Values: []any{"post", "1"}})
	}
	db = e.open(t, Options{EventsMaxAge: time.Hour})
	if _, err := db.AppendEvent(ctx, aged, []byte("2")); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb().XLen(ctx, eventsKey(aged)).Result(); n > 51 {
		t.Errorf("XLEN after age trim = %d, want the old node gone", n)
	}
}

func testReadEvents(t *testing.T, e *testEnv) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		id, err := e.db.AppendEvent(ctx, e.acct, fmt.Appendf(nil, `{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, from := range []string{"", "0"} {
		evs, err := e.db.ReadEvents(ctx, e.acct, from, 0, 0)
		if err != nil || len(evs) != 5 || evs[0].ID != ids[0] || string(evs[4].Payload) != `{"n":4}` {
			t.Fatalf("ReadEvents(%q) = %+v, %v", from, evs, err)
		}
		if evs[0].Deliveries != 0 {
			t.Errorf("cursor read counted deliveries: %d", evs[0].Deliveries)
		}
	}
	evs, err := e.db.ReadEvents(ctx, e.acct, ids[1], 2, 0)
	if err != nil || len(evs) != 2 || evs[0].ID != ids[2] || evs[1].ID != ids[3] {
		t.Fatalf("ReadEvents(after %s, 2) = %+v, %v", ids[1], evs, err)
	}
	evs, err = e.db.ReadEvents(ctx, e.acct, ids[4], 10, 0)
	if err != nil || evs == nil || len(evs) != 0 {
		t.Errorf("ReadEvents at the end = %#v, %v; want empty", evs, err)
	}
	// "$" with a block waits for events appended after the call only.
	ch := make(chan []StreamEvent, 1)
	go func() {
		evs, err := e.db.ReadEvents(ctx, e.acct, "$", 10, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		ch <- evs
	}()
	appended := map[string]bool{}
	var got []StreamEvent
	for got == nil {
		id, err := e.db.AppendEvent(ctx, e.acct, []byte(`{"n":5}`))
		if err != nil {
			t.Fatal(err)
		}
		appended[id] = true
		select {
		case got = <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if len(got) == 0 {
		t.Fatal("ReadEvents($) returned nothing")
	}
	for _, ev := range got {
		if !appended[ev.ID] {
			t.Errorf("ReadEvents($) returned %s, from before the call", ev.ID)
		}
	}
	for _, bad := range []string{"abc", "1-x", "-1", "1-2-3"} {
		if _, err := e.db.ReadEvents(ctx, e.acct, bad, 1, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadEvents(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func testLastEventID(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if id, err := e.db.LastEventID(ctx, e.acct); err != nil || id != "0-0" {
		t.Fatalf("LastEventID of no stream = %q, %v; want 0-0", id, err)
	}
	var last string
	for i := range 3 {
		id, err := e.db.AppendEvent(ctx, e.acct, fmt.Appendf(nil, `{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	at, err := e.db.LastEventID(ctx, e.acct)
	if err != nil || at != last {
		t.Fatalf("LastEventID = %q, %v; want %s", at, err, last)
	}
	// Read from it, the cursor sees what comes after, and only that.
	next, err := e.db.AppendEvent(ctx, e.acct, []byte(`{"n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := e.db.ReadEvents(ctx, e.acct, at, 10, 0)
	if err != nil || len(evs) != 1 || evs[0].ID != next {
		t.Errorf("ReadEvents after LastEventID = %+v, %v; want only %s", evs, err, next)
	}
	// A stream trimmed to nothing reads from the start again, which holds
	// only what comes next.
	if err := e.rdb().XTrimMaxLen(ctx, eventsKey(e.acct), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if id, err := e.db.LastEventID(ctx, e.acct); err != nil || id != "0-0" {
		t.Errorf("LastEventID of an empty stream = %q, %v; want 0-0", id, err)
	}
	if _, err := e.db.LastEventID(ctx, "{bad}"); !errors.Is(err, ErrInvalid) {
		t.Errorf("LastEventID of a bad account = %v, want ErrInvalid", err)
	}
}

func testEventGroupCaughtUp(t *testing.T, e *testEnv) {
	ctx := t.Context()
	caughtUp := func(group, upTo string) bool {
		t.Helper()
		ok, err := e.db.EventGroupCaughtUp(ctx, e.acct, group, upTo)
		if err != nil {
			t.Fatalf("EventGroupCaughtUp(%s, %s): %v", group, upTo, err)
		}
		return ok
	}
	if !caughtUp("hook", "0-0") {
		t.Error("a group of a stream that does not exist is behind")
	}
	ids := make([]string, 3)
	for i := range ids {
		id, err := e.db.AppendEvent(ctx, e.acct, fmt.Appendf(nil, `{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if _, err := e.db.EventGroupCaughtUp(ctx, e.acct, "hook", ids[2]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("EventGroupCaughtUp of a missing group = %v, want ErrNotFound", err)
	}
	if err := e.db.EventGroup(ctx, e.acct, "hook", "0"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.EventGroup(ctx, e.acct, "late", "$"); err != nil {
		t.Fatal(err)
	}
	if caughtUp("hook", ids[0]) || !caughtUp("hook", "0-0") {
		t.Error("a group that read nothing: wrong answer")
	}
	if !caughtUp("late", ids[2]) {
		t.Error("a group created after the events is behind them")
	}
	evs, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w1", 2, 0)
	if err != nil || len(evs) != 2 {
		t.Fatalf("ReadEventGroup = %+v, %v", evs, err)
	}
	if caughtUp("hook", ids[0]) {
		t.Error("caught up while the events read are not acknowledged")
	}
	if err := e.db.AckEvents(ctx, e.acct, "hook", ids[0]); err != nil {
		t.Fatal(err)
	}
	if !caughtUp("hook", ids[0]) || caughtUp("hook", ids[1]) || caughtUp("hook", ids[2]) {
		t.Error("after acknowledging the first event only: wrong answers")
	}
	if err := e.db.AckEvents(ctx, e.acct, "hook", ids[1]); err != nil {
		t.Fatal(err)
	}
	if !caughtUp("hook", ids[1]) || caughtUp("hook", ids[2]) {
		t.Error("the third event, never read, counts as done")
	}
	if _, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w1", 10, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AckEvents(ctx, e.acct, "hook", ids[2]); err != nil {
		t.Fatal(err)
	}
	if !caughtUp("hook", ids[2]) {
		t.Error("every event read and acknowledged, still behind")
	}
	for _, bad := range []string{"$", "x", "1-x"} {
		if _, err := e.db.EventGroupCaughtUp(ctx, e.acct, "hook", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("EventGroupCaughtUp(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func testEventGroups(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if _, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w1", 10, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadEventGroup without group = %v, want ErrNotFound", err)
	}
	old, _ := e.db.AppendEvent(ctx, e.acct, []byte(`{"n":0}`))
	for range 2 { // idempotent
		if err := e.db.EventGroup(ctx, e.acct, "hook", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.EventGroup(ctx, e.acct, "replay", "0"); err != nil {
		t.Fatal(err)
	}
	newID, _ := e.db.AppendEvent(ctx, e.acct, []byte(`{"n":1}`))

	// "" starts after the existing events; "0" from the first.
	evs, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w1", 10, 100*time.Millisecond)
	if err != nil || len(evs) != 1 || evs[0].ID != newID || evs[0].Deliveries != 1 {
		t.Fatalf("hook read = %+v, %v", evs, err)
	}
	evs, err = e.db.ReadEventGroup(ctx, e.acct, "replay", "w1", 10, 0)
	if err != nil || len(evs) != 2 || evs[0].ID != old {
		t.Fatalf("replay read = %+v, %v", evs, err)
	}
	if err := e.db.AckEvents(ctx, e.acct, "replay", evs[0].ID, evs[1].ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.rdb().XPending(ctx, eventsKey(e.acct), "replay").Result(); p.Count != 0 {
		t.Errorf("replay: %d pending after ack", p.Count)
	}
	// w1 of hook "crashes"; w2 reclaims its event, delivered twice now.
	evs, err = e.db.ReclaimEvents(ctx, e.acct, "hook", "w2", 0)
	if err != nil || len(evs) != 1 || evs[0].ID != newID || evs[0].Deliveries != 2 || string(evs[0].Payload) != `{"n":1}` {
		t.Fatalf("ReclaimEvents = %+v, %v", evs, err)
	}
	if evs, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w2", 10, 0); err != nil || len(evs) != 0 {
		t.Errorf("nothing new, got %+v, %v", evs, err)
	}
	if err := e.db.AckEvents(ctx, e.acct, "hook"); err != nil {
		t.Errorf("AckEvents without ids = %v", err)
	}
	if _, err := e.db.ReclaimEvents(ctx, e.acct, "nope", "w2", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReclaimEvents(unknown group) = %v", err)
	}
	if err := e.db.EventGroup(ctx, e.acct, "", "0"); !errors.Is(err, ErrInvalid) {
		t.Errorf("EventGroup(\"\") = %v", err)
	}
}

func testDeadLetters(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if err := e.db.EventGroup(ctx, e.acct, "hook", "0"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.db.AppendEvent(ctx, e.acct, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	evs, err := e.db.ReadEventGroup(ctx, e.acct, "hook", "w1", 10, 0)
	if err != nil || len(evs) != 3 {
		t.Fatalf("read = %v, %v", evs, err)
	}
	for _, ev := range evs[:2] {
		if err := e.db.DeadLetterEvent(ctx, e.acct, "hook", ev, "HTTP 500 five times"); err != nil {
			t.Fatal(err)
		}
	}
	// Dead-lettered events are acknowledged: only the third is pending.
	if p, _ := e.rdb().XPending(ctx, eventsKey(e.acct), "hook").Result(); p.Count != 1 {
		t.Errorf("%d pending, want 1", p.Count)
	}
	if n, _ := e.rdb().XLen(ctx, deadLettersKey(e.acct, "hook")).Result(); n != 2 {
		t.Errorf("XLEN %s = %d", deadLettersKey(e.acct, "hook"), n)
	}
	dl, err := e.db.DeadLetters(ctx, e.acct, "hook", "", 10)
	if err != nil || len(dl) != 2 {
		t.Fatalf("DeadLetters = %+v, %v", dl, err)
	}
	if dl[0].Event.ID != evs[0].ID || string(dl[0].Event.Payload) != `{"n":0}` || dl[0].Reason != "HTTP 500 five times" ||
		dl[0].Event.Deliveries != 1 || time.Since(dl[0].At) > time.Minute {
		t.Errorf("dead letter = %+v", dl[0])
	}
	after, err := e.db.DeadLetters(ctx, e.acct, "hook", dl[0].ID, 10)
	if err != nil || len(after) != 1 || after[0].ID != dl[1].ID {
		t.Errorf("DeadLetters after %s = %+v, %v", dl[0].ID, after, err)
	}
	if err := e.db.DeleteDeadLetters(ctx, e.acct, "hook", dl[0].ID, dl[1].ID); err != nil {
		t.Fatal(err)
	}
	if dl, _ := e.db.DeadLetters(ctx, e.acct, "hook", "", 10); len(dl) != 0 {
		t.Errorf("after delete: %+v", dl)
	}
	if err := e.db.DeadLetterEvent(ctx, e.acct, "hook", StreamEvent{ID: "1-1", Payload: []byte("{")}, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("DeadLetterEvent(bad) = %v", err)
	}
}
