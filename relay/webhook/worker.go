package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// errStopped ends a worker for good: its subscriber was disabled.
var errStopped = errors.New("webhook: subscriber stopped")

// worker delivers the events stream to one subscriber, in stream order, while
// it holds the subscriber's lease; at most one worker among all dispatcher
// instances delivers to a subscriber at a time.
type worker struct {
	d      *Dispatcher
	id     string
	group  string
	sub    atomic.Pointer[Subscriber] // replaced when the registry changes
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	brk    *breaker
	log    *slog.Logger

	replayPoke atomic.Bool // the admin API asked for a replay

	// Accessed only by the worker goroutine.
	acks        []string            // delivered events not yet acknowledged
	retry       *store.WebhookRetry // the head event's persisted retry state
	lastReplays time.Time           // last look at the replay requests

	statsMu sync.Mutex // guards stats
	stats   workerStats
}

// workerStats is what the admin API shows of a running worker.
type workerStats struct {
	Leased        bool      `json:"leased"`
	LastDelivered time.Time `json:"last_delivered,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	HeadEvent     string    `json:"retrying_event,omitempty"`
	HeadAttempts  int       `json:"retrying_attempts,omitempty"`
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
}

func newWorker(d *Dispatcher, s Subscriber, cancel context.CancelFunc) *worker {
	w := &worker{
		d:      d,
		id:     s.ID,
		group:  s.group(),
		cancel: cancel,
		done:   make(chan struct{}),
		brk:    newBreaker(d.policy),
		log:    d.log.With(openqq.LogKeySubscriber, s.ID),
	}
	w.sub.Store(&s)
	return w
}

func (w *worker) update(s Subscriber) { w.sub.Store(&s) }
func (w *worker) stop()               { w.cancel() }

// finished reports whether run has returned (a 410 disabled the subscriber).
func (w *worker) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) setStats(f func(*workerStats)) {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	f(&w.stats)
}

func (w *worker) snapshot() workerStats {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	return w.stats
}

// run takes the subscriber's lease whenever it is free and delivers while it
// holds it, until ctx ends or the subscriber is disabled.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	var fails int
	for ctx.Err() == nil {
		held, err := w.d.db.AcquireWebhookLease(ctx, w.d.account, w.id, w.d.o.Owner, w.d.o.LeaseTTL)
		switch {
		case err != nil:
			w.log.WarnContext(ctx, "webhook lease failed", openqq.LogKeyErr, err)
		case !held: // another instance delivers; look again later
			fails = 0
			_ = sleep(ctx, w.d.o.LeaseTTL/3)
			continue
		default:
			err = w.hold(ctx)
			if errors.Is(err, errStopped) {
				return
			}
			if err == nil || ctx.Err() != nil {
				fails = 0
				continue
			}
			w.log.WarnContext(ctx, "webhook delivery interrupted", openqq.LogKeyErr, err)
		}
		fails++
		_ = sleep(ctx, redisBackoff(fails))
	}
}

// redisBackoff is the real-time wait after the n-th Redis failure in a row.
func redisBackoff(n int) time.Duration {
	return min(100*time.Millisecond<<min(n, 6), 5*time.Second)
}

// hold delivers while the lease is ours, then acknowledges what was
// delivered and gives the lease back.
func (w *worker) hold(ctx context.Context) error {
	lctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.keepLease(lctx, cancel) })
	w.setStats(func(s *workerStats) { s.Leased = true })
	defer func() {
		cancel(nil)
		wg.Wait()
		w.setStats(func(s *workerStats) { s.Leased = false })
		// Delivered events are acknowledged even when ctx is over; the
		// event in flight is not, and the next holder delivers it again.
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer done()
		if err := w.flushAcks(rctx); err != nil {
			w.log.WarnContext(ctx, "webhook ack failed; events will be delivered again", openqq.LogKeyErr, err)
		}
		if err := w.d.db.ReleaseWebhookLease(rctx, w.d.account, w.id, w.d.o.Owner); err != nil {
			w.log.WarnContext(ctx, "webhook lease release failed", openqq.LogKeyErr, err)
		}
	}()
	err := w.deliverLoop(lctx)
	if cause := context.Cause(lctx); errors.Is(cause, errLeaseLost) && ctx.Err() == nil {
		return cause
	}
	return err
}

var errLeaseLost = errors.New("webhook: lease lost")

// keepLease renews the lease every third of its TTL and cancels the
// delivery when it is lost, or when Redis did not confirm it for a whole TTL.
func (w *worker) keepLease(ctx context.Context, cancel context.CancelCauseFunc) {
	ttl := w.d.o.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	confirmed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := w.d.db.AcquireWebhookLease(ctx, w.d.account, w.id, w.d.o.Owner, ttl)
		switch {
		case err == nil && held:
			confirmed = time.Now()
		case err == nil:
			cancel(errLeaseLost)
			return
		case time.Since(confirmed) >= ttl:
			cancel(fmt.Errorf("%w: %w", errLeaseLost, err))
			return
		}
	}
}

// deliverLoop first delivers what an earlier holder left unacknowledged,
// then new events, in stream order, looking at replay requests in between.
func (w *worker) deliverLoop(ctx context.Context) error {
	if err := w.loadRetry(ctx); err != nil {
		return err
	}
	pending, err := w.d.db.ReclaimEvents(ctx, w.d.account, w.group, w.d.o.Owner, 0)
	if errors.Is(err, store.ErrNotFound) {
		pending, err = nil, w.recreateGroup(ctx)
	}
	if err != nil {
		return err
	}
	if err := w.process(ctx, pending); err != nil {
		return err
	}
	for ctx.Err() == nil {
		if err := w.replays(ctx); err != nil {
			return err
		}
		evs, err := w.d.db.ReadEventGroup(ctx, w.d.account, w.group, w.d.o.Owner, w.d.o.BatchSize, w.d.o.Block)
		if errors.Is(err, store.ErrNotFound) {
			err = w.recreateGroup(ctx)
		}
		if err != nil {
			return err
		}
		if err := w.process(ctx, evs); err != nil {
			return err
		}
	}
	return nil
}

// recreateGroup handles a missing consumer group. A subscriber deleted
// meanwhile (through another instance) stops here; otherwise the group was
// lost with its stream (the stream was deleted) and comes back from the
// start of whatever the stream holds now.
func (w *worker) recreateGroup(ctx context.Context) error {
	if w.id != StdoutID {
		subs, err := w.d.db.WebhookSubscribers(ctx, w.d.account)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(subs, func(s store.WebhookSubscriber) bool { return s.ID == w.id }) {
			w.d.poke()
			return errStopped
		}
	}
	w.log.WarnContext(ctx, "webhook consumer group missing; recreating it")
	return w.d.db.EventGroup(ctx, w.d.account, w.group, "0")
}

// loadRetry picks up the retry state an earlier holder saved.
func (w *worker) loadRetry(ctx context.Context) error {
	r, err := w.d.db.LoadWebhookRetry(ctx, w.d.account, w.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.retry = nil
		return nil
	case err != nil:
		return err
	}
	w.retry = &r
	return nil
}

// process delivers a batch in order and acknowledges it in one call.
func (w *worker) process(ctx context.Context, evs []store.StreamEvent) error {
	for _, ev := range evs {
		f, err := w.deliver(ctx, ev, eventTime(ev.ID))
		if err != nil {
			return err
		}
		if f == fateDelivered || f == fateSkipped {
			w.acks = append(w.acks, ev.ID)
		}
	}
	return w.flushAcks(ctx)
}

// flushAcks acknowledges the delivered events (one XACK).
func (w *worker) flushAcks(ctx context.Context) error {
	if len(w.acks) == 0 {
		return nil
	}
	if err := w.d.db.AckEvents(ctx, w.d.account, w.group, w.acks...); err != nil {
		return err
	}
	w.acks = w.acks[:0]
	return nil
}

// replays delivers the dead letters an operator asked to replay, oldest
// first; it looks for requests once per refresh interval or when poked.
func (w *worker) replays(ctx context.Context) error {
	if !w.replayPoke.Swap(false) && time.Since(w.lastReplays) < w.d.o.RefreshInterval {
		return nil
	}
	w.lastReplays = time.Now()
	ids, err := w.d.db.WebhookReplays(ctx, w.d.account, w.id)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := w.flushAcks(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.replay(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// replay delivers one dead letter with a fresh schedule and TTL. Delivered
// (or rejected again, or filtered), it leaves the dead letters; dead again,
// it is dead-lettered anew with the new reason.
func (w *worker) replay(ctx context.Context, id string) error {
	dl, err := w.d.db.DeadLetter(ctx, w.d.account, w.group, id)
	if errors.Is(err, store.ErrNotFound) {
		return w.d.db.DoneWebhookReplay(ctx, w.d.account, w.id, id)
	}
	if err != nil {
		return err
	}
	w.log.InfoContext(ctx, "replaying dead letter", "dead_letter", id, "event", dl.Event.ID)
	if _, err := w.deliver(ctx, dl.Event, w.d.clock.Now()); err != nil {
		return err
	}
	if err := w.d.db.DeleteDeadLetters(ctx, w.d.account, w.group, id); err != nil {
		return err
	}
	w.d.metrics.replays.WithLabelValues(w.id).Inc()
	return w.d.db.DoneWebhookReplay(ctx, w.d.account, w.id, id)
}

// eventTime is when an event was appended, from its stream id.
func eventTime(id string) time.Time {
	var ms int64
	for _, c := range id {
		if c < '0' || c > '9' {
			break
		}
		ms = ms*10 + int64(c-'0')
	}
	return time.UnixMilli(ms)
}
