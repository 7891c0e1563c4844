package connector

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is a capped exponential delay with jitter, for retrying Redis
// writes, failed polls and failed logins. The zero value is not usable;
// build one with newBackoff.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, next: min}
}

// delay returns the next wait: the current step with up to 25% jitter either
// way, then doubles the step up to max.
func (b *backoff) delay() time.Duration {
	d := b.next
	b.next = min(b.next*2, b.max)
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return d + jitter
}

// reset starts over from min after a success.
func (b *backoff) reset() { b.next = b.min }

// wait sleeps for the next delay, returning false if ctx ends first.
func (b *backoff) wait(ctx context.Context) bool {
	return sleep(ctx, b.delay())
}

// sleep waits d or until ctx ends, reporting whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
