package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/redis/go-redis/v9"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func item(i int) []byte { return fmt.Appendf(nil, `{"post_type":"event","n":%d}`, i) }

func testCheckEvents(t *testing.T, e *testEnv) {
	ctx := t.Context()
	for i := range 3 {
		if err := e.db.PushCheckEvent(ctx, e.acct, item(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if items, _ := e.rdb().LRange(ctx, checkEventsKey(e.acct), 0, -1).Result(); len(items) != 3 || items[0] != string(item(0)) {
		t.Fatalf("%s = %v", checkEventsKey(e.acct), items)
	}
	got, err := e.db.TakeCheckEvents(ctx, e.acct, time.Minute)
	if err != nil || len(got) != 3 {
		t.Fatalf("Take = %s, %v", got, err)
	}
	for i, g := range got {
		if string(g) != string(item(i)) {
			t.Errorf("item %d = %s", i, g)
		}
	}
	if n, _ := e.rdb().Exists(ctx, checkEventsKey(e.acct)).Result(); n != 0 {
		t.Error("buffer not emptied")
	}
	if err := e.db.PushCheckEvent(ctx, e.acct, []byte("{not json"), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Push(bad JSON) = %v, want ErrInvalid", err)
	}
	// Nothing buffered, nothing comes: an empty, non-nil answer.
	got, err = e.db.TakeCheckEvents(ctx, e.acct, 200*time.Millisecond)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Take on timeout = %#v, %v; want [], nil", got, err)
	}
	got, err = e.db.TakeCheckEvents(ctx, e.acct, 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Take without hold = %#v, %v", got, err)
	}
}

func testCheckEventsTrim(t *testing.T, e *testEnv) {
	ctx := t.Context()
	for i := range 25 {
		if err := e.db.PushCheckEvent(ctx, e.acct, item(i), 20); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := e.rdb().LRange(ctx, checkEventsKey(e.acct), 0, -1).Result()
	if len(items) != 20 || items[0] != string(item(5)) || items[19] != string(item(24)) {
		t.Errorf("after 25 pushes with max 20: %d items, first %s", len(items), items[0])
	}
}

func testCheckEventsWait(t *testing.T, e *testEnv) {
	ctx := t.Context()
	type answer struct {
		items []string
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		got, err := e.db.TakeCheckEvents(ctx, e.acct, 10*time.Second)
		a := answer{err: err}
		for _, g := range got {
			a.items = append(a.items, string(g))
		}
		ch <- a
	}()
	waitBlocked(t, e.db, 1)
	if err := e.db.PushCheckEvent(ctx, e.acct, item(7), 0); err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil || len(a.items) != 1 || a.items[0] != string(item(7)) {
		t.Fatalf("Take = %+v", a)
	}
	if n, _ := e.rdb().LLen(ctx, checkEventsKey(e.acct)).Result(); n != 0 {
		t.Errorf("item taken but %d left", n)
	}
}

// waitBlocked waits until n blocking connections of db are blocked in
// Redis. It counts by connection name (CLIENT LIST), so the blocked clients
// of other tests sharing the server do not count. miniredis has no CLIENT
// LIST: there it falls back to the server-wide blocked_clients of INFO, or
// just gives the waiters a moment.
func waitBlocked(t *testing.T, db *DB, n int) {
	t.Helper()
	for range 500 {
		if blockedConns(t, db) >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d connections of %s blocked", n, db.blockName)
}

// clientList is CLIENT LIST of every node (every master of a Cluster).
func clientList(t *testing.T, db *DB) (string, error) {
	cc, ok := db.short.(*redis.ClusterClient)
	if !ok {
		return db.short.Do(t.Context(), "CLIENT", "LIST").Text()
	}
	var mu sync.Mutex
	var all strings.Builder
	err := cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		list, err := c.Do(ctx, "CLIENT", "LIST").Text()
		mu.Lock()
		all.WriteString(list)
		mu.Unlock()
		return err
	})
	return all.String(), err
}

func blockedConns(t *testing.T, db *DB) int {
	list, err := clientList(t, db)
	if err == nil && strings.Contains(list, " flags=") { // miniredis lists no flags
		blocked := 0
		for line := range strings.SplitSeq(list, "\n") {
			fields := strings.Fields(line)
			if slices.Contains(fields, "name="+db.blockName) && slices.ContainsFunc(fields, func(f string) bool {
				flags, ok := strings.CutPrefix(f, "flags=")
				return ok && strings.Contains(flags, "b")
			}) {
				blocked++
			}
		}
		return blocked
	}
	info, err := db.short.Info(t.Context(), "clients").Result()
	if err != nil || !strings.Contains(info, "blocked_clients:") {
		// No way to see blocked clients (miniredis): give the waiters a moment.
		time.Sleep(300 * time.Millisecond)
		return 1 << 30
	}
	var blocked int
	for line := range strings.SplitSeq(info, "\n") {
		fmt.Sscanf(line, "blocked_clients:%d", &blocked)
	}
	return blocked
}

func testCheckEventsConcurrent(t *testing.T, e *testEnv) {
	// 10 pollers, 300 events pushed while they poll: every event reaches
	// exactly one poller, none is lost, none is null.
	const pollers, events = 10, 300
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		got  atomic.Int64
		wg   sync.WaitGroup
	)
	for range pollers {
		wg.Go(func() {
			for got.Load() < events && ctx.Err() == nil {
				items, err := e.db.TakeCheckEvents(ctx, e.acct, 300*time.Millisecond)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("take: %v", err)
					}
					return
				}
				mu.Lock()
				for _, it := range items {
					if it == nil || string(it) == "null" {
						t.Error("null item")
					}
					seen[string(it)]++
				}
				mu.Unlock()
				got.Add(int64(len(items)))
			}
		})
	}
	for i := range events {
		if err := e.db.PushCheckEvent(ctx, e.acct, item(i), events); err != nil {
			t.Fatal(err)
		}
	}
	// Bounded: the pollers stop when all arrived; a lost event shows up as
	// a missing key below, not as a hang.
	stop := time.AfterFunc(30*time.Second, cancel)
	wg.Wait()
	stop.Stop()
	for i := range events {
		if n := seen[string(item(i))]; n != 1 {
			t.Errorf("event %d delivered %d times", i, n)
		}
	}
	if len(seen) != events {
		t.Errorf("%d distinct items, want %d", len(seen), events)
	}
}

func testCheckEventsWaiterGone(t *testing.T, e *testEnv) {
	// A poller whose caller left while it waited must not swallow the next
	// event: it goes back to the buffer for the next poller.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.db.TakeCheckEvents(ctx, e.acct, 10*time.Second)
		done <- err
	}()
	waitBlocked(t, e.db, 1)
	cancel()
	if err := e.db.PushCheckEvent(t.Context(), e.acct, item(1), 0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Take after cancel = %v, want context.Canceled", err)
	}
	got, err := e.db.TakeCheckEvents(t.Context(), e.acct, 5*time.Second)
	if err != nil || len(got) != 1 || string(got[0]) != string(item(1)) {
		t.Fatalf("next Take = %s, %v; want the event", got, err)
	}
}

func testBlockingPoolSeparate(t *testing.T, e *testEnv) {
	// Blocked pollers hold blocking connections only: short commands on a
	// pool of 2 still run while 4 pollers wait.
	db := e.open(t, Options{PoolSize: 2, BlockingPoolSize: 8})
	var finished atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db.TakeCheckEvents(t.Context(), e.acct, 3*time.Second)
			finished.Add(1)
		})
	}
	waitBlocked(t, db, 4)
	for range 10 {
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Cookies(t.Context(), e.acct); err != nil {
			t.Fatal(err)
		}
	}
	if n := finished.Load(); n != 0 {
		t.Errorf("short commands waited for %d blocked pollers", n)
	}
	wg.Wait()
}
