package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

// BenchmarkCommandRoundTrip measures the command bus through real Redis:
// Submit → a connector goroutine (ConsumeAndStart → ReplyAll, no other
// I/O) → result, at 1, 16 and 64 concurrent callers, with the PING round
// trip of the same server for scale. It reports p50/p99 latency and
// commands per second. "handoff" is the floor of any exchange between two
// goroutines through Redis, for scale. Redis: OPENQQ_TEST_REDIS_URL, else a
// redis-server started here.
//
//	go test ./store -run '^$' -bench CommandRoundTrip -benchtime 5s
func BenchmarkCommandRoundTrip(b *testing.B) {
	url := os.Getenv("OPENQQ_TEST_REDIS_URL")
	if url == "" {
		port := freePort(b)
		startRedisServer(b, port, nil)
		url = fmt.Sprint("redis://127.0.0.1:", port, "/0")
	}
	b.Run("ping", func(b *testing.B) {
		db := benchOpen(b, url, 8)
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t := time.Now()
			if err := db.Ping(b.Context()); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		reportLatency(b, lat)
	})
	// The floor of any exchange between two goroutines through Redis: LPUSH
	// a request, BLPOP it on the other side, LPUSH the answer, BLPOP it.
	b.Run("handoff", func(b *testing.B) {
		db := benchOpen(b, url, 8)
		acct := testAccount(b)
		req, resp := replyKey(acct, "req"), replyKey(acct, "resp")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			for ctx.Err() == nil {
				kv, err := db.block.BLPop(ctx, time.Second, req).Result()
				if err == nil {
					db.short.LPush(ctx, resp, kv[1])
				}
			}
		})
		defer func() { cancel(); wg.Wait(); db.short.Del(context.Background(), req, resp) }()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t := time.Now()
			db.short.LPush(ctx, req, "x")
			if err := db.block.BLPop(ctx, 5*time.Second, resp).Err(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		reportLatency(b, lat)
	})
	for _, callers := range []int{1, 16, 64} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			benchRoundTrip(b, url, callers)
		})
	}
}

func benchOpen(b *testing.B, url string, blocking int) *DB {
	db, err := Open(b.Context(), Options{URL: url, BlockingPoolSize: blocking, PoolSize: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchRoundTrip(b *testing.B, url string, callers int) {
	relay := benchOpen(b, url, callers+4)
	conn := benchOpen(b, url, 4)
	acct := testAccount(b)
	b.Cleanup(func() { relay.DeleteAccount(context.Background(), acct) })

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { benchConnector(ctx, b, conn, acct) })
	defer func() { cancel(); wg.Wait() }()

	submit := func() (time.Duration, error) {
		// No id: as from the relay, Submit makes one.
		cmd := &openqq.Command{API: openqq.APISendFriendMessage,
			Params: map[string]string{"id": "2", "content": "hi"}, Deadline: time.Now().Add(30 * time.Second)}
		t := time.Now()
		res, err := relay.Submit(ctx, acct, cmd)
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("result code %d", res.Code)
		}
		return time.Since(t), err
	}
	if _, err := submit(); err != nil { // warm-up: group, pools, scripts
		b.Fatal(err)
	}

	var (
		mu    sync.Mutex
		lat   = make([]time.Duration, 0, b.N)
		left  atomic.Int64
		first error
	)
	left.Store(int64(b.N))
	b.ResetTimer()
	start := time.Now()
	var callersWG sync.WaitGroup
	for range callers {
		callersWG.Go(func() {
			var mine []time.Duration
			for left.Add(-1) >= 0 {
				d, err := submit()
				if err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
					return
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	callersWG.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "cmds/s")
}

// benchConnector is a connector doing no I/O besides the bus, as the
// connector takes commands: each batch costs one ConsumeAndStart (the read
// and the claim in one round trip) and one ReplyAll.
func benchConnector(ctx context.Context, b *testing.B, db *DB, acct string) {
	for ctx.Err() == nil {
		cs, err := db.ConsumeAndStart(ctx, acct, "bench", 256, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				b.Error(err)
			}
			return
		}
		if len(cs) == 0 {
			continue
		}
		answers := make([]Answer, 0, len(cs))
		for _, c := range cs {
			if c.Err != nil {
				if !errors.Is(c.Err, ErrExpired) {
					b.Error(c.Err)
				}
				continue
			}
			answers = append(answers, Answer{Delivery: c.Delivery, Result: echo(c.Command)})
		}
		if err := db.ReplyAll(ctx, acct, answers); err != nil {
			b.Error(err)
			return
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)]) / float64(time.Microsecond)
	}
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
