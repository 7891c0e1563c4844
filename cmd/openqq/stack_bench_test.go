package main

// Benchmarks of the full stack: real HTTP → relay → Redis → connector →
// webqq client → sandbox, one stack started in-process as `openqq up`
// starts it. Redis is OPENQQ_TEST_REDIS_URL when set, else an embedded
// one. Each case reports req/s and the p50/p99 latency of one request;
// the figures belong in BENCHMARKS.md, never in assertions.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/connector/webqq"
)

// benchFriends is the size of the benchmark's friend list.
const benchFriends = 1000

func BenchmarkStack(b *testing.B) {
	s, acct := startBenchStack(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	friend := s.sandbox.World().Friends[0]
	checkFriendList(b, client, s.relayURL)

	read := s.relayURL + "/openqq/get_friend_info"
	send := s.relayURL + "/openqq/send_friend_message?" + url.Values{
		"id": {decimal(friend.ID)}, "content": {"bench 你好"},
	}.Encode()
	for _, c := range []struct{ name, url string }{{"get_friend_info", read}, {"send_friend_message", send}} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", c.name, clients), func(b *testing.B) {
				benchRequests(b, client, c.url, clients)
			})
		}
	}
	b.Run("check_event", func(b *testing.B) { benchCheckEvent(b, s, client, acct) })
}

// startBenchStack starts the stack with a world of benchFriends friends,
// sends without spacing and no tokens, waits until the client runs and
// stops it when the benchmark ends.
func startBenchStack(b *testing.B) (*upStack, string) {
	env := stackEnv(b, "OPENQQ_SANDBOX_FRIENDS", fmt.Sprint(benchFriends), "OPENQQ_SEND_INTERVAL", "0s")
	s, err := startUp(b.Context(), upOptions{
		Environ: env,
		Stderr:  io.Discard,
		Logger:  stackLogger(b),
		tuneClient: func(o *webqq.Options) {
			o.QRPollInterval = 20 * time.Millisecond
			o.PollPause = webqq.NoDelay
		},
	})
	if err != nil {
		b.Fatalf("startUp: %v", err)
	}
	acct := env["OPENQQ_ACCOUNT"]
	if u := env["OPENQQ_REDIS_URL"]; u != "" { // after the stack has stopped
		dropAccountAtEnd(b, u, acct)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.Context()))
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("stack: %v", err)
		}
	})
	ts := &testStack{url: s.relayURL}
	ts.waitRunning(b)
	return s, acct
}

// checkFriendList fails unless get_friend_info lists the whole world: the
// read benchmark must measure the full list, not an answer of an
// unready connector.
func checkFriendList(b *testing.B, client *http.Client, base string) {
	ts := &testStack{url: base, client: client}
	var friends []json.RawMessage
	eventually(b, "the friend list in the snapshot", func() bool {
		a := ts.get(b, "/openqq/get_friend_info")
		return a.status == http.StatusOK && json.Unmarshal(a.body, &friends) == nil && len(friends) == benchFriends
	})
}

// benchRequests sends b.N GETs of u from clients goroutines, each taking
// the next request as soon as its last is answered, and reports the
// throughput and latency percentiles.
func benchRequests(b *testing.B, client *http.Client, u string, clients int) {
	// Warm-up: one request per client opens the connections the run keeps.
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			if _, err := getOK(b.Context(), client, u); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N || failed.Load() != nil {
					return
				}
				d, err := getOK(b.Context(), client, u)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	reportLatencies(b, lat, elapsed)
}

// getOK sends one GET and reads the answer; anything but HTTP 200 with an
// Openqq code 0 (or a JSON array) is an error.
func getOK(ctx context.Context, client *http.Client, u string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer bodyBuffers.Put(buf)
	buf.Reset()
	_, err = buf.ReadFrom(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if res.ContentLength >= 0 && int64(buf.Len()) != res.ContentLength {
		return 0, fmt.Errorf("GET %s: read %d bytes of %d", u, buf.Len(), res.ContentLength)
	}
	if res.StatusCode != http.StatusOK || !answeredOK(buf.Bytes()) {
		return 0, fmt.Errorf("GET %s: HTTP %d: %.200s", u, res.StatusCode, buf.Bytes())
	}
	return d, nil
}

// bodyBuffers keeps the load generator's response buffers: like any load
// generator it reads each answer into a reused buffer, so that its own
// garbage does not weigh on the server it shares the cores with.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// answeredOK accepts a JSON array (the information endpoints) or an
// object with code 0 (a send result).
func answeredOK(body []byte) bool {
	if len(body) > 0 && body[0] == '[' {
		return true
	}
	var r struct {
		Code *json.Number `json:"code"`
	}
	return json.Unmarshal(body, &r) == nil && r.Code != nil && *r.Code == "0"
}

// benchCheckEvent measures publish → response: one poller holds
// /openqq/check_event while the benchmark publishes one event at a time
// with the store's PushCheckEvent, as the connector publishes (the
// sandbox and the connector's poll of it are left out, so the figure is
// the relay's and Redis's part alone). Each publish waits until the poller
// is back in its hold (the relay's waiters gauge), so that every event
// wakes a blocked poll rather than being found already buffered.
func benchCheckEvent(b *testing.B, s *upStack, client *http.Client, acct string) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	drainCheckEvents(b, client, s.relayURL)
	got := make(chan int, 16) // the sequence numbers answered
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { pollEvents(ctx, client, s.relayURL+"/openqq/check_event", got, errc) })

	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if err := waitWaiting(ctx, s, errc); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		payload := fmt.Appendf(nil, `{"post_type":"receive_message","type":"friend_message","class":"recv","content":"bench-%d"}`, i)
		t0 := time.Now()
		if err := s.db.PushCheckEvent(ctx, acct, payload, 0); err != nil {
			b.Fatal(err)
		}
		select {
		case seq := <-got:
			if seq != i {
				b.Fatalf("check_event answered event %d, want %d", seq, i)
			}
		case err := <-errc:
			b.Fatal(err)
		case <-time.After(waitBound):
			b.Fatalf("event %d not answered", i)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	reportLatencies(b, lat, 0) // the waits for the poller make req/s meaningless
}

// drainCheckEvents empties the buffer of what the connector published
// (login, contact events) before the run.
func drainCheckEvents(b *testing.B, client *http.Client, base string) {
	ts := &testStack{url: base, client: client}
	for {
		a := ts.get(b, "/openqq/check_event")
		if a.status != http.StatusOK {
			b.Fatalf("check_event: HTTP %d: %s", a.status, a.body)
		}
		if strings.TrimSpace(string(a.body)) == "[]" {
			return
		}
	}
}

// pollEvents polls check_event until ctx ends, sending the sequence number
// of every benchmark event it is answered.
func pollEvents(ctx context.Context, client *http.Client, u string, got chan<- int, errc chan<- error) {
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			errc <- err
			return
		}
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				errc <- err
			}
			return
		}
		var posts []struct {
			Content string `json:"content"`
		}
		err = json.NewDecoder(res.Body).Decode(&posts)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			if ctx.Err() == nil {
				errc <- fmt.Errorf("check_event: HTTP %d: %v", res.StatusCode, err)
			}
			return
		}
		for _, p := range posts {
			var seq int
			if _, err := fmt.Sscanf(p.Content, "bench-%d", &seq); err == nil {
				select {
				case got <- seq:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// waitWaiting waits until the relay holds one check_event poll.
func waitWaiting(ctx context.Context, s *upStack, errc <-chan error) error {
	deadline := time.Now().Add(waitBound)
	for {
		n, err := checkEventWaiters(s)
		if err != nil || n >= 1 {
			return err
		}
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no check_event poll waiting after %s", waitBound)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// checkEventWaiters reads the relay's openqq_relay_check_event_waiters.
func checkEventWaiters(s *upStack) (float64, error) {
	mfs, err := s.reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == "openqq_relay_check_event_waiters" && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue(), nil
		}
	}
	return 0, fmt.Errorf("the relay has no openqq_relay_check_event_waiters gauge")
}

// reportLatencies reports req/s over the wall time of the run (unless 0)
// and the p50/p99 of the latencies, instead of ns/op (which with several
// clients is neither a latency nor a throughput).
func reportLatencies(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(0, "ns/op")
	if elapsed > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
}

// percentile is the nearest-rank p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
