package webhook

import (
	"sync"
	"time"
)

// Breaker states, as the admin API and the metrics show them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// breaker is one subscriber's circuit breaker. Closed, attempts go out as
// the retry schedule says. After threshold consecutive failures it opens: no
// attempt at all until the open period ends. Then one probe goes out
// (half-open): success closes it, failure opens it again for twice as long,
// up to maxOpen. A dead endpoint thus costs one request per open period.
type breaker struct {
	threshold int
	cooldown  time.Duration
	maxOpen   time.Duration

	mu        sync.Mutex // guards the fields below; the admin API reads them
	failures  int        // consecutive failed attempts
	openFor   time.Duration
	openUntil time.Time // zero while closed
}

func newBreaker(p Policy) *breaker {
	return &breaker{threshold: p.BreakerThreshold, cooldown: p.BreakerCooldown, maxOpen: p.BreakerMaxOpen}
}

// until is when the next attempt may go out; zero when it may go now.
func (b *breaker) until() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openUntil
}

// success closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.openFor, b.openUntil = 0, 0, time.Time{}
}

// failure counts a failed attempt made at now and reports whether the
// breaker (re)opened.
func (b *breaker) failure(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	switch {
	case !b.openUntil.IsZero(): // a failed probe
		b.openFor = min(2*b.openFor, b.maxOpen)
	case b.failures >= b.threshold:
		b.openFor = b.cooldown
	default:
		return false
	}
	b.openUntil = now.Add(b.openFor)
	return true
}

// state names the breaker's state at now.
func (b *breaker) state(now time.Time) (string, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return BreakerClosed, time.Time{}
	case now.Before(b.openUntil):
		return BreakerOpen, b.openUntil
	}
	return BreakerHalfOpen, b.openUntil
}
