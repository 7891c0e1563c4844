package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for status, want := range map[int]outcome{
		0: retry, 200: delivered, 204: delivered, 299: delivered,
		301: reject, 302: reject, 400: reject, 401: reject, 404: reject, 413: reject,
		408: retry, 429: retry, 500: retry, 502: retry, 503: retry, 504: retry,
		410: gone,
	} {
		if got := classify(status); got != want {
			t.Errorf("classify(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999", 365 * 24 * time.Hour},
	} {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestPolicyWaitJitterAndRetryAfter(t *testing.T) {
	var asked []time.Duration
	p := Policy{Jitter: func(d time.Duration) time.Duration { asked = append(asked, d); return d / 2 }}.withDefaults()
	if got := p.wait(2, 0); got != 2500*time.Millisecond {
		t.Errorf("wait(2) = %s", got)
	}
	if got := p.wait(1, 10*time.Second); got != 10*time.Second {
		t.Errorf("Retry-After longer than the step: %s", got)
	}
	if got := p.wait(1, 10*24*time.Hour); got != DefaultMaxRetryAfter {
		t.Errorf("Retry-After is capped: %s", got)
	}
	if asked[0] != 5*time.Second || asked[1] != time.Second {
		t.Errorf("jitter asked for %v", asked)
	}
	for range 100 {
		if d := fullJitter(time.Second); d < 0 || d > time.Second {
			t.Fatalf("fullJitter out of range: %s", d)
		}
	}
}

func TestBreaker(t *testing.T) {
	b := newBreaker(Policy{BreakerThreshold: 3, BreakerCooldown: 10 * time.Second, BreakerMaxOpen: 25 * time.Second}.withDefaults())
	t0 := time.Unix(1000, 0)
	if b.failure(t0) || b.failure(t0) {
		t.Fatal("opened before the threshold")
	}
	if !b.failure(t0) || !b.until().Equal(t0.Add(10*time.Second)) {
		t.Fatalf("third failure: until %s", b.until())
	}
	if st, _ := b.state(t0.Add(time.Second)); st != BreakerOpen {
		t.Errorf("state = %s", st)
	}
	if st, _ := b.state(t0.Add(10 * time.Second)); st != BreakerHalfOpen {
		t.Errorf("state = %s", st)
	}
	t1 := t0.Add(10 * time.Second)
	if !b.failure(t1) || !b.until().Equal(t1.Add(20*time.Second)) {
		t.Errorf("failed probe doubles: until %s", b.until())
	}
	t2 := t1.Add(20 * time.Second)
	if !b.failure(t2) || !b.until().Equal(t2.Add(25*time.Second)) {
		t.Errorf("capped at max open: until %s", b.until())
	}
	b.success()
	if st, _ := b.state(t2); st != BreakerClosed || !b.until().IsZero() {
		t.Errorf("success closes: %s", st)
	}
}
