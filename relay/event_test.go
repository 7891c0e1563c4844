package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// waiters reads the check_event waiters gauge.
func (e *env) waiters() float64 {
	var m dto.Metric
	if err := e.h.metrics.waiters.Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// awaitWaiters waits until n polls are holding.
func (e *env) awaitWaiters(n float64) {
	e.t.Helper()
	for range 1000 {
		if e.waiters() == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("%v check_event waiters, want %v", e.waiters(), n)
}

// numbered is a check_event item that carries a number.
func numbered(i int) []byte {
	return fmt.Appendf(nil, `{"post_type":"receive_message","type":"friend_message","class":"recv","id":"%d","content":"n/%d"}`, i, i)
}

// pollItems decodes a check_event answer, failing on null items.
func pollItems(tb testing.TB, body []byte) []string {
	tb.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		tb.Fatalf("answer %q: %v", body, err)
	}
	if items == nil {
		tb.Fatalf("answer %q is not an array", body)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		var v struct{ ID string }
		if string(it) == "null" || json.Unmarshal(it, &v) != nil || v.ID == "" {
			tb.Fatalf("bad item %s in %s", it, body)
		}
		ids[i] = v.ID
	}
	return ids
}

func TestCheckEventOnePoller(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHold(30*time.Second))
	got := make(chan response, 1)
	go func() { got <- e.do(get("/openqq/check_event")) }()
	e.awaitWaiters(1)
	if err := e.db.PushCheckEvent(t.Context(), e.acct, numbered(1), 0); err != nil {
		t.Fatal(err)
	}
	res := <-got
	if ids := pollItems(t, res.body); !slices.Equal(ids, []string{"1"}) {
		t.Fatalf("got %v", ids)
	}
	if !strings.Contains(string(res.body), `"content":"n\/1"`) {
		t.Errorf("event not rendered in the Openqq style: %s", res.body)
	}
	e.awaitWaiters(0)
}

func TestCheckEventBufferedAllAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		if err := e.db.PushCheckEvent(t.Context(), e.acct, numbered(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if ids := pollItems(t, e.do(get("/openqq/check_event")).body); !slices.Equal(ids, []string{"0", "1", "2", "3", "4"}) {
		t.Fatalf("got %v", ids)
	}
	if ids := pollItems(t, e.do(get("/openqq/check_event")).body); len(ids) != 0 {
		t.Fatalf("the buffer was not emptied: %v", ids)
	}
}

// Ten pollers and a stream of events: every event reaches exactly one
// poller, and nobody gets [null] ([GO] spec §7.3).
func TestCheckEventTenPollers(t *testing.T) {
	t.Parallel()
	const pollers, events = 10, 60
	e := newEnv(t, withHold(2*time.Second))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range pollers {
		wg.Go(func() {
			for ctx.Err() == nil {
				res := e.do(get("/openqq/check_event"))
				if res.status != http.StatusOK {
					t.Errorf("status %d: %s", res.status, res.body)
					return
				}
				mu.Lock()
				for _, id := range pollItems(t, res.body) {
					seen[id]++
				}
				if len(seen) == events {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	e.awaitWaiters(pollers)
	for i := range events {
		if err := e.db.PushCheckEvent(t.Context(), e.acct, numbered(i), events); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			time.Sleep(50 * time.Millisecond) // let some pollers wait again
		}
	}
	wg.Wait()
	for i := range events {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Errorf("event %d delivered %d times", i, n)
		}
	}
	if len(seen) != events {
		t.Errorf("%d distinct events delivered, want %d", len(seen), events)
	}
}

func TestCheckEventCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHold(30*time.Second))
	var ids []string
	for i := range 5 {
		id, err := e.db.AppendEvent(t.Context(), e.acct, numbered(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Two readers each see everything, in pages; an empty cursor is the start.
	for _, first := range []string{"0", ""} {
		reader := first
		res := e.do(get("/openqq/check_event?count=3&cursor=" + first))
		if got := pollItems(t, res.body); !slices.Equal(got, []string{"0", "1", "2"}) || res.header.Get(CursorHeader) != ids[2] {
			t.Fatalf("reader %s, page 1: %v, cursor %q", reader, got, res.header.Get(CursorHeader))
		}
		res = e.do(get("/openqq/check_event?cursor=" + ids[2]))
		if got := pollItems(t, res.body); !slices.Equal(got, []string{"3", "4"}) || res.header.Get(CursorHeader) != ids[4] {
			t.Fatalf("reader %s, page 2: %v, cursor %q", reader, got, res.header.Get(CursorHeader))
		}
	}
	// The buffered check_event list is untouched by cursor reads.
	if got := pollItems(t, e.do(get("/openqq/check_event?cursor=0&count=1")).body); len(got) != 1 {
		t.Fatal("cursor read from the start failed")
	}
	// Two readers waiting at the end both get the next event.
	answers := make(chan response, 2)
	for range 2 {
		go func() { answers <- e.do(get("/openqq/check_event?cursor=" + ids[4])) }()
	}
	e.awaitWaiters(2)
	next, err := e.db.AppendEvent(t.Context(), e.acct, numbered(5))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res := <-answers
		if got := pollItems(t, res.body); !slices.Equal(got, []string{"5"}) || res.header.Get(CursorHeader) != next {
			t.Errorf("waiting reader: %v, cursor %q", got, res.header.Get(CursorHeader))
		}
	}
	for _, bad := range []string{"x", "1-", "-1", "1-2-3", "0&count=0", "0&count=x"} {
		if res := e.do(get("/openqq/check_event?cursor=" + bad)); res.status != http.StatusBadRequest {
			t.Errorf("cursor=%s: %d %s", bad, res.status, res.body)
		}
	}
}

// TestCheckEventCursorFromEnd: a "$" poll answers a concrete cursor, the
// stream's end as the poll began, so an event appended after it, before
// the next poll, is not missed; nor is one appended during its hold.
func TestCheckEventCursorFromEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHold(200*time.Millisecond))
	before, err := e.db.AppendEvent(t.Context(), e.acct, numbered(0))
	if err != nil {
		t.Fatal(err)
	}
	res := e.do(get("/openqq/check_event?cursor=$"))
	if got := pollItems(t, res.body); len(got) != 0 || res.header.Get(CursorHeader) != before {
		t.Fatalf("first $ poll: %v, cursor %q; want [] and %s", got, res.header.Get(CursorHeader), before)
	}
	between, err := e.db.AppendEvent(t.Context(), e.acct, numbered(1))
	if err != nil {
		t.Fatal(err)
	}
	res = e.do(get("/openqq/check_event?cursor=" + res.header.Get(CursorHeader)))
	if got := pollItems(t, res.body); !slices.Equal(got, []string{"1"}) || res.header.Get(CursorHeader) != between {
		t.Errorf("the poll after it: %v, cursor %q; want [1] and %s", got, res.header.Get(CursorHeader), between)
	}

	// A $ poll that waits gets what is appended during its hold.
	e = newEnv(t, withHold(30*time.Second))
	answer := make(chan response, 1)
	go func() { answer <- e.do(get("/openqq/check_event?cursor=$")) }()
	e.awaitWaiters(1)
	during, err := e.db.AppendEvent(t.Context(), e.acct, numbered(2))
	if err != nil {
		t.Fatal(err)
	}
	if res := <-answer; !slices.Equal(pollItems(t, res.body), []string{"2"}) || res.header.Get(CursorHeader) != during {
		t.Errorf("waiting $ poll: %s, cursor %q; want [2] and %s", res.body, res.header.Get(CursorHeader), during)
	}
}

// On Lambda the hold ends before the invocation does, with [].
func TestCheckEventLambdaHold(t *testing.T) {
	t.Parallel()
	e := newEnvOver(t, true, withHold(time.Minute))
	for _, target := range []string{"/openqq/check_event", "/openqq/check_event?cursor=$"} {
		// Without the cap the invocation would end first and answer nothing.
		res := e.do(request{method: http.MethodGet, target: target, deadline: 3 * time.Second})
		if res.status != http.StatusOK || string(res.body) != "[]" {
			t.Errorf("%s: %d %q, want 200 []", target, res.status, res.body)
		}
		if strings.Contains(target, "cursor") && res.header.Get(CursorHeader) != "0-0" {
			t.Errorf("%s: cursor %q, want 0-0, the end of the empty stream", target, res.header.Get(CursorHeader))
		}
	}
}
