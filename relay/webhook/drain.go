package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// drainPoll is how often Drain looks at the subscribers' progress in Redis.
const drainPoll = 50 * time.Millisecond

// Drain waits until every subscriber that can take events has been
// delivered, and has acknowledged, every event of the stream up to its
// newest entry when Drain is called, or until ctx ends (then it returns an
// error wrapping ctx's). Later events are not waited for, and neither are
// the subscribers that cannot take events now: paused or disabled ones,
// those whose head event failed and waits for a retry (a dead endpoint),
// and those whose breaker is open. Progress is read from Redis, so events
// that another instance delivers count too. A process calls it at shutdown,
// after its producer has stopped and before Run's ctx ends, so that its
// last events go out.
func (d *Dispatcher) Drain(ctx context.Context) error {
	upTo, err := d.db.LastEventID(ctx, d.account)
	for err == nil {
		var behind []string
		if behind, err = d.behind(ctx, upTo); err == nil && len(behind) == 0 {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhook drain: progress unreadable; retrying", openqq.LogKeyErr, err)
			err = nil
		}
		if serr := sleep(ctx, drainPoll); serr != nil {
			err = fmt.Errorf("%w (waiting for %v)", serr, behind)
		}
	}
	return fmt.Errorf("webhook: drain: %w", err)
}

// behind lists the subscribers that can take events and have not yet
// delivered every event up to upTo.
func (d *Dispatcher) behind(ctx context.Context, upTo string) ([]string, error) {
	stored, err := d.db.WebhookSubscribers(ctx, d.account)
	if err != nil {
		return nil, err
	}
	var subs []Subscriber
	for _, st := range stored {
		if s, err := decodeSubscriber(st); err == nil && st.Status.State == StateActive {
			subs = append(subs, s)
		}
	}
	if d.o.PostStdout {
		subs = append(subs, d.o.StdoutFilter)
	}
	var out []string
	for _, s := range subs {
		stalled, err := d.stalled(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if stalled {
			continue
		}
		done, err := d.db.EventGroupCaughtUp(ctx, d.account, s.group(), upTo)
		if errors.Is(err, store.ErrNotFound) {
			continue // no group yet: it starts after upTo
		}
		if err != nil {
			return nil, err
		}
		if !done {
			out = append(out, s.ID)
		}
	}
	return out, nil
}

// stalled reports whether a subscriber cannot take events now: its head
// event failed and waits for a retry (the state any instance saves), or
// this instance's breaker for it is open.
func (d *Dispatcher) stalled(ctx context.Context, id string) (bool, error) {
	if w := d.worker(id); w != nil {
		if st, _ := w.brk.state(d.clock.Now()); st != BreakerClosed {
			return true, nil
		}
	}
	_, err := d.db.LoadWebhookRetry(ctx, d.account, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
