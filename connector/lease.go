package connector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// acquireLease waits until this runner owns the account. While another
// connector holds it, it asks again every tenth of the TTL, so it takes over
// soon after the holder dies and its lease expires.
func (r *Runner) acquireLease(ctx context.Context) (store.Lease, error) {
	ttl := r.o.LeaseTTL
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	waiting := false
	for {
		l, err := r.db.AcquireLease(ctx, r.account, r.owner, ttl)
		switch {
		case err == nil:
			r.redisOK.Store(true)
			r.metrics.leaseHeld.Set(1)
			r.log.InfoContext(ctx, "lease acquired", "owner", r.owner)
			return l, nil
		case ctx.Err() != nil:
			return store.Lease{}, ctx.Err()
		case errors.Is(err, store.ErrLeaseHeld):
			r.redisOK.Store(true)
			if !waiting {
				r.log.InfoContext(ctx, "account held by another connector; standing by")
				waiting = true
			}
			if !sleep(ctx, max(ttl/10, 50*time.Millisecond)) {
				return store.Lease{}, ctx.Err()
			}
		default:
			r.redisOK.Store(false)
			r.log.WarnContext(ctx, "lease acquisition failed, retrying", openqq.LogKeyErr, err)
			if !b.wait(ctx) {
				return store.Lease{}, ctx.Err()
			}
		}
	}
}

// keepLease renews the lease every third of its TTL until ctx ends and
// returns the last lease held. A lease found expired but free (Redis was
// away for longer than the TTL) is taken again; one taken over by another
// connector ends the session with errLeaseLost, so that two connectors never
// drive one account (fencing). While renewals fail, the fence drops once two
// thirds of the TTL have passed since the last confirmation, before a
// standby could take over, and polling pauses until a renewal succeeds.
func (r *Runner) keepLease(ctx context.Context, l store.Lease, endSession context.CancelCauseFunc) store.Lease {
	ttl := r.o.LeaseTTL
	r.fence.lift()
	fenceTimer := time.AfterFunc(2*ttl/3, func() {
		r.log.Warn("lease not confirmed for two thirds of its ttl; pausing the session")
		r.fence.drop()
	})
	defer fenceTimer.Stop()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return l
		case <-t.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, ttl/3)
		nl, err := l, r.db.RenewLease(callCtx, r.account, l, ttl)
		if errors.Is(err, store.ErrLeaseLost) {
			nl, err = r.db.AcquireLease(callCtx, r.account, r.owner, ttl)
			if err == nil {
				r.log.WarnContext(ctx, "lease had expired while redis was away; taken again")
			} else if errors.Is(err, store.ErrLeaseHeld) {
				cancel()
				r.fence.lose()
				r.metrics.leaseHeld.Set(0)
				r.log.ErrorContext(ctx, "lease taken over by another connector; ending the session")
				endSession(errLeaseLost)
				return l
			}
		}
		cancel()
		switch {
		case err == nil:
			l = nl
			fenceTimer.Reset(2 * ttl / 3)
			if r.fence.lift() {
				r.log.InfoContext(ctx, "lease confirmed again; resuming the session")
			}
			r.redisOK.Store(true)
			r.metrics.leaseHeld.Set(1)
		case ctx.Err() != nil:
			return l
		default:
			r.redisOK.Store(false)
			r.log.WarnContext(ctx, "lease renewal failed, retrying", openqq.LogKeyErr, err)
			if r.fence.down() {
				r.metrics.leaseHeld.Set(0)
			}
		}
	}
}

// fence tells whether the lease is confirmed recently enough to act on:
// its context is live while it is, and is cancelled when it is not, which
// cuts a poll in progress short.
type fence struct {
	mu     sync.Mutex // guards the fields below
	ctx    context.Context
	cancel context.CancelFunc
	lost   bool // another connector owns the account now
}

// Answers of fence.check to a write of the account's session data.
var (
	errFenced   = errors.New("connector: lease not confirmed; write held back")
	errNotOwner = errors.New("connector: lease lost; write dropped")
)

func newFence() *fence {
	f := &fence{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.cancel() // down until the first lease
	return f
}

// current returns the context of the current confirmation.
func (f *fence) current() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctx
}

// lift marks the lease confirmed (a new tenure clears lost), reporting
// whether it was down.
func (f *fence) lift() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = false
	if f.ctx.Err() == nil {
		return false
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return true
}

// lose marks the lease taken over by another connector.
func (f *fence) lose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = true
	f.cancel()
}

// check is asked before writing the account's session data (state record,
// cookies, QR code, contacts), which belong to the lease owner alone: a
// transient errFenced while the lease is unconfirmed (the write waits), a
// permanent errNotOwner once it is lost (the write is dropped).
func (f *fence) check() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.lost:
		return errNotOwner
	case f.ctx.Err() != nil:
		return errFenced
	}
	return nil
}

// drop marks the lease unconfirmed.
func (f *fence) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancel()
}

func (f *fence) down() bool { return f.current().Err() != nil }

// waitLease blocks while the fence is down, reporting false if ctx ends.
func (r *Runner) waitLease(ctx context.Context) bool {
	for r.fence.down() {
		if !sleep(ctx, 50*time.Millisecond) {
			return false
		}
	}
	return ctx.Err() == nil
}

// releaseLease gives the account up at the end of a session, so a standby
// connector takes over at once instead of after the TTL.
func (r *Runner) releaseLease(ctx context.Context, l store.Lease) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := r.retry(ctx, "release lease", func(ctx context.Context) error {
		return r.db.ReleaseLease(ctx, r.account, l)
	})
	r.metrics.leaseHeld.Set(0)
	if err != nil && !errors.Is(err, store.ErrLeaseLost) {
		r.log.WarnContext(ctx, "lease release failed; it expires by itself", openqq.LogKeyErr, err)
		return
	}
	r.log.InfoContext(ctx, "lease released")
}

// retry runs one Redis call until it succeeds, fails for good (a store
// sentinel or a bad argument) or ctx ends, waiting with capped exponential
// backoff in between: Redis outages are waited out, not reported.
func (r *Runner) retry(ctx context.Context, op string, fn func(context.Context) error) error {
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		err := fn(ctx)
		switch {
		case err == nil:
			r.redisOK.Store(true)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case permanent(err):
			r.redisOK.Store(true)
			return err
		}
		if errors.Is(err, errFenced) { // not Redis's fault: wait for the lease
			r.log.DebugContext(ctx, "write waits for the lease", "op", op)
		} else {
			r.redisOK.Store(false)
			r.metrics.redisErrors.Inc()
			r.log.WarnContext(ctx, "redis call failed, retrying", "op", op, openqq.LogKeyErr, err)
		}
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

// permanent reports whether a store error is an answer rather than an outage.
func permanent(err error) bool {
	for _, s := range []error{store.ErrInvalid, store.ErrNotFound, store.ErrDuplicate,
		store.ErrExpired, store.ErrLeaseHeld, store.ErrLeaseLost, errNotOwner} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
