package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq/store/storetest"
)

// benchSubscribers is the fan-out of the benchmark.
const benchSubscribers = 10

// BenchmarkDispatch measures deliveries per second to 10 receivers on
// loopback and the latency each delivery adds, from just before AppendEvent
// to the receiver reading the request. b.N is the number of events (each
// delivered 10 times).
//
//	burst:    events appended as fast as 4 producers can; latency includes queueing
//	paced-N:  N events/s (10×N deliveries/s); latency at that load (500: the
//	          5,000 deliveries/s target)
//
// Run on a real redis-server (OPENQQ_TEST_REDIS_URL); the embedded one
// measures miniredis, not the dispatcher.
func BenchmarkDispatch(b *testing.B) {
	if os.Getenv(storetest.EnvURL) == "" {
		b.Log("OPENQQ_TEST_REDIS_URL is not set: measuring on the embedded Redis")
	}
	b.Run("burst", func(b *testing.B) { benchDispatch(b, 0) })
	b.Run("paced-500", func(b *testing.B) { benchDispatch(b, 500) })
	b.Run("paced-1000", func(b *testing.B) { benchDispatch(b, 1000) })
}

func benchDispatch(b *testing.B, rate int) {
	e := newEnv(b)
	n := b.N
	appended := make([]atomic.Int64, n)
	recvs := make([]*benchReceiver, benchSubscribers)
	subs := make([]Subscriber, benchSubscribers)
	var left sync.WaitGroup
	left.Add(benchSubscribers)
	for i := range recvs {
		recvs[i] = newBenchReceiver(b, n, left.Done)
		subs[i] = Subscriber{URL: recvs[i].URL, Reply: i == 0}
	}
	o := e.options(b, realClock{}, subs...)
	o.Logger = slog.New(slog.DiscardHandler)
	o.Registry = prometheus.NewRegistry()
	o.Block, o.Policy = time.Second, Policy{}
	d := start(b, o)
	posts := make([][]byte, n)
	for i := range posts {
		posts[i] = friendMessage(11, "b"+strconv.Itoa(i))
	}

	b.ResetTimer()
	began := time.Now()
	produce(b, e, posts, appended, rate)
	all := make(chan struct{})
	go func() { left.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatal("deliveries did not complete")
	}
	elapsed := time.Since(began)
	b.StopTimer()
	d.stop()

	lat := make([]time.Duration, 0, n*benchSubscribers)
	for _, r := range recvs {
		for i := range n {
			lat = append(lat, time.Duration(r.at[i].Load()-appended[i].Load()))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(n*benchSubscribers)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}

// produce appends the posts: as fast as 4 goroutines can (rate 0), or at
// rate events per second from one.
func produce(b *testing.B, e *testEnv, posts [][]byte, appended []atomic.Int64, rate int) {
	ctx := context.Background()
	appendOne := func(i int) {
		appended[i].Store(time.Now().UnixNano())
		if _, err := e.db.AppendEvent(ctx, e.acct, posts[i]); err != nil {
			b.Error(err)
		}
	}
	if rate > 0 {
		start, every := time.Now(), time.Second/time.Duration(rate)
		for i := range posts {
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
			appendOne(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(posts); i = int(next.Add(1) - 1) {
				appendOne(i)
			}
		})
	}
	wg.Wait()
}

// benchReceiver records when each event (by its number) first arrived.
type benchReceiver struct {
	*httptest.Server
	at   []atomic.Int64
	got  atomic.Int64
	done func()
}

func newBenchReceiver(b *testing.B, n int, done func()) *benchReceiver {
	r := &benchReceiver{at: make([]atomic.Int64, n), done: done}
	marker := []byte(`"content":"b`)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		now := time.Now().UnixNano()
		i := bytes.Index(body, marker)
		if i < 0 {
			return
		}
		rest := body[i+len(marker):]
		j := bytes.IndexByte(rest, '"')
		seq, err := strconv.Atoi(string(rest[:max(j, 0)]))
		if err != nil || seq < 0 || seq >= n {
			panic(fmt.Sprintf("bad benchmark payload %s", body))
		}
		if r.at[seq].CompareAndSwap(0, now) && r.got.Add(1) == int64(n) {
			r.done()
		}
	}))
	b.Cleanup(r.Close)
	return r
}
