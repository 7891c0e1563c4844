package connector

import (
	"context"
	"errors"
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
// drive one account (fencing).
func (r *Runner) keepLease(ctx context.Context, l store.Lease, endSession context.CancelCauseFunc) store.Lease {
	ttl := r.o.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	lastOK := time.Now()
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
				r.metrics.leaseHeld.Set(0)
				r.log.ErrorContext(ctx, "lease taken over by another connector; ending the session")
				endSession(errLeaseLost)
				return l
			}
		}
		cancel()
		switch {
		case err == nil:
			l, lastOK = nl, time.Now()
			r.redisOK.Store(true)
			r.metrics.leaseHeld.Set(1)
		case ctx.Err() != nil:
			return l
		default:
			r.redisOK.Store(false)
			r.log.WarnContext(ctx, "lease renewal failed, retrying", openqq.LogKeyErr, err)
			if time.Since(lastOK) > ttl {
				r.metrics.leaseHeld.Set(0)
			}
		}
	}
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
		r.redisOK.Store(false)
		r.metrics.redisErrors.Inc()
		r.log.WarnContext(ctx, "redis call failed, retrying", "op", op, openqq.LogKeyErr, err)
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

// permanent reports whether a store error is an answer rather than an outage.
func permanent(err error) bool {
	for _, s := range []error{store.ErrInvalid, store.ErrNotFound, store.ErrDuplicate,
		store.ErrExpired, store.ErrLeaseHeld, store.ErrLeaseLost} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
