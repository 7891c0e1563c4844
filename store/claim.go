package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Claim is a delivery and what its connector must do with it: Err nil means
// run it now; ErrExpired, never run it (past its deadline; answer
// openqq.ErrTimeout); ErrDuplicate, never run it again (a connector that is
// gone had read it, so it may have run; answer openqq.ErrOutcomeUnknown).
type Claim struct {
	Delivery
	Err error
}

// ConsumeAndStart is Consume for a connector that runs what it reads: a
// command read is a command started. From the XREADGROUP on, the entry is
// pending for consumer and the upstream call may go out at any moment, so
// no other reader ever runs it: a relay that reaches the deadline finds it
// pending and waits for its answer, and a connector that takes it over
// after a crash gets it with ErrDuplicate (ReclaimAndStart). Commands past
// their deadline come back with ErrExpired.
func (db *DB) ConsumeAndStart(ctx context.Context, acct, consumer string, count int, block time.Duration) ([]Claim, error) {
	ds, err := db.Consume(ctx, acct, consumer, count, block)
	if err != nil {
		return nil, err
	}
	now := db.now()
	claims := make([]Claim, len(ds))
	for i, d := range ds {
		claims[i].Delivery = d
		if !now.Before(d.Command.Deadline) {
			claims[i].Err = fmt.Errorf("store: start %s: %w", d.Command.ID, ErrExpired)
		}
	}
	return claims, nil
}

// ReclaimAndStart is Reclaim for a connector that holds the account's
// lease: everything it takes over had been read by a connector that is gone
// (or by an earlier session of this one) and comes back with ErrDuplicate.
// running lists the stream ids this consumer is running itself: a long run
// makes them look idle, so they are taken over but left out.
func (db *DB) ReclaimAndStart(ctx context.Context, acct, consumer string, minIdle time.Duration, running []string) ([]Claim, error) {
	ds, err := db.Reclaim(ctx, acct, consumer, minIdle)
	if err != nil {
		return nil, err
	}
	claims := make([]Claim, 0, len(ds))
	for _, d := range ds {
		if slices.Contains(running, d.StreamID) {
			continue
		}
		claims = append(claims, Claim{Delivery: d, Err: fmt.Errorf("store: start %s: %w", d.Command.ID, ErrDuplicate)})
	}
	return claims, nil
}
