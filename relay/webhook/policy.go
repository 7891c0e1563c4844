package webhook

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the default retry schedule: the nominal wait before
// each attempt, the first at once (ecosystem §8.2: 7 attempts, ≈1 h 13 min).
var DefaultSchedule = []time.Duration{
	0, time.Second, 5 * time.Second, 30 * time.Second,
	2 * time.Minute, 10 * time.Minute, time.Hour,
}

// Defaults of the delivery policy.
const (
	DefaultTimeout          = 15 * time.Second
	DefaultReplyTimeout     = 5 * time.Second
	DefaultEventTTL         = 24 * time.Hour
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultBreakerMaxOpen   = 10 * time.Minute
	DefaultMaxRetryAfter    = time.Hour
)

// Policy is the delivery policy shared by all subscribers. The zero value of
// every field means its default.
type Policy struct {
	// Schedule is the nominal wait before each attempt; its length is the
	// number of attempts. Each wait is drawn with full jitter from [0, w].
	Schedule []time.Duration
	// EventTTL: an event older than this (by its stream id) is not attempted
	// again and goes to the dead letters.
	EventTTL time.Duration
	// BreakerThreshold consecutive failures open a subscriber's breaker.
	BreakerThreshold int
	// BreakerCooldown is the first open period; it doubles on each failed
	// probe up to BreakerMaxOpen.
	BreakerCooldown time.Duration
	BreakerMaxOpen  time.Duration
	// MaxRetryAfter caps what a receiver's Retry-After may ask for.
	MaxRetryAfter time.Duration
	// Jitter returns a value in [0, d]; nil means uniform random (full
	// jitter). Tests pass a fixed function.
	Jitter func(d time.Duration) time.Duration
}

func (p Policy) withDefaults() Policy {
	if len(p.Schedule) == 0 {
		p.Schedule = DefaultSchedule
	}
	if p.EventTTL <= 0 {
		p.EventTTL = DefaultEventTTL
	}
	if p.BreakerThreshold <= 0 {
		p.BreakerThreshold = DefaultBreakerThreshold
	}
	if p.BreakerCooldown <= 0 {
		p.BreakerCooldown = DefaultBreakerCooldown
	}
	if p.BreakerMaxOpen <= 0 {
		p.BreakerMaxOpen = DefaultBreakerMaxOpen
	}
	if p.BreakerMaxOpen < p.BreakerCooldown {
		p.BreakerMaxOpen = p.BreakerCooldown
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.Jitter == nil {
		p.Jitter = fullJitter
	}
	return p
}

func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// wait is the jittered wait before attempt n (0-based), at least retryAfter.
func (p Policy) wait(n int, retryAfter time.Duration) time.Duration {
	var w time.Duration
	if n < len(p.Schedule) {
		w = p.Jitter(p.Schedule[n])
	}
	return max(w, min(retryAfter, p.MaxRetryAfter))
}

// outcome classifies one attempt.
type outcome int

const (
	delivered outcome = iota // 2xx
	retry                    // connect error, timeout, 408, 429, 5xx
	gone                     // 410: disable the subscriber
	reject                   // any other status: dead letter at once
)

func (o outcome) String() string {
	return [...]string{"delivered", "retry", "gone", "rejected"}[o]
}

// classify maps an attempt's status (0 for a transport error) to its outcome.
func classify(status int) outcome {
	switch {
	case status == 0:
		return retry
	case status >= 200 && status < 300:
		return delivered
	case status == http.StatusGone:
		return gone
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return retry
	}
	// 1xx, 3xx (redirects are not followed: Standard Webhooks counts them as
	// failures) and other 4xx: the receiver refuses this payload.
	return reject
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date, relative to
// now. Missing, malformed or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}

// isTimeout tells a timed-out attempt from other transport errors, for logs
// and metrics only: both are retried.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
