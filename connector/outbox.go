package connector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// outbox applies the connector's Redis writes (events, state, cookies, QR
// code, contacts) in order from one goroutine, retrying each with capped
// backoff while Redis is unreachable. Callers never block on Redis, so the
// QQ session carries on through an outage and nothing queued is lost when
// Redis returns. Writes of the same key (the state record, the cookie jar,
// the QR code, the contact snapshot) replace a pending older write; events
// are bounded by max, dropping the oldest when full. Consecutive posts and
// command answers go to Redis together, in one round trip (publish): a
// command's answer is written after what it caused, usually with it.
type outbox struct {
	log     *slog.Logger
	max     int
	retry   func(ctx context.Context, op string, fn func(context.Context) error) error
	publish func(ctx context.Context, posts []store.Publication, answers []store.Answer) error

	dropped func() // counts a dropped event

	mu      sync.Mutex // guards the fields below
	ops     []write
	seq     uint64        // the last sequence number given out
	events  int           // pending event writes among ops
	busy    bool          // a write is being applied
	busySeq uint64        // its sequence number
	closed  bool          // the session has ended: new writes are dropped
	changed chan struct{} // closed and replaced whenever ops or busy change
}

// write is one pending Redis write.
type write struct {
	key   string // non-empty: a newer write of the same key replaces this one
	event bool   // an event: counts against max
	seq   uint64 // order of arrival; a replacement keeps the replaced write's
	op    string // for logs: "append event", "save cookies", …
	fn    func(ctx context.Context) error
	// A post or a command's answer (one of them non-nil) is applied by
	// publish, with the posts and answers next to it, instead of fn.
	post   *store.Publication
	answer *store.Answer
	// after, when set, hears how the write ended: nil once applied, else
	// the error it was given up with (errOutboxClosed when never tried).
	after func(error)
}

func (w write) batchable() bool { return w.post != nil || w.answer != nil }

// errOutboxClosed ends the writes the session did not get to.
var errOutboxClosed = errors.New("connector: session ended before the write")

// maxBatch bounds the posts and answers of one publish round trip.
const maxBatch = 256

func newOutbox(log *slog.Logger, max int, retry func(context.Context, string, func(context.Context) error) error,
	publish func(context.Context, []store.Publication, []store.Answer) error, dropped func()) *outbox {
	return &outbox{log: log, max: max, retry: retry, publish: publish, dropped: dropped, changed: make(chan struct{})}
}

// add queues w.
func (o *outbox) add(w write) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		o.log.Debug("write after the session ended, dropped", "op", w.op)
		if w.after != nil {
			w.after(errOutboxClosed)
		}
		return
	}
	o.seq++
	w.seq = o.seq
	if w.key != "" {
		for i, p := range o.ops {
			if p.key == w.key {
				// The newer write carries the older one's data too, so a
				// barrier waiting for the older one waits for it.
				w.seq = p.seq
				o.ops = append(o.ops[:i], o.ops[i+1:]...)
				break
			}
		}
	}
	if w.event {
		if o.events >= o.max {
			o.dropOldestEvent()
		}
		o.events++
	}
	o.ops = append(o.ops, w)
	o.notify()
}

// dropKeyed forgets the pending writes of session data (all keyed ones),
// once the lease is lost: they are the new owner's to make.
func (o *outbox) dropKeyed() {
	o.mu.Lock()
	defer o.mu.Unlock()
	kept := o.ops[:0]
	for _, w := range o.ops {
		if w.key == "" {
			kept = append(kept, w)
		}
	}
	clear(o.ops[len(kept):])
	o.ops = kept
	o.notify()
}

// dropOldestEvent makes room when Redis has been away too long. Losing an
// event is lost work, so it is logged as an error.
func (o *outbox) dropOldestEvent() {
	for i, p := range o.ops {
		if p.event {
			o.ops = append(o.ops[:i], o.ops[i+1:]...)
			o.events--
			o.dropped()
			o.log.Error("event buffer full while redis is unreachable, dropping the oldest event",
				"pending", len(o.ops))
			return
		}
	}
}

// notify wakes waiters; o.mu is held.
func (o *outbox) notify() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// next takes the first pending write, with the posts and answers that follow
// it when it is one, waiting for one until ctx ends. The batch is one write:
// its fn publishes them all.
func (o *outbox) next(ctx context.Context) (write, bool) {
	for ctx.Err() == nil {
		o.mu.Lock()
		if len(o.ops) > 0 {
			n := 1
			if o.ops[0].batchable() {
				for n < len(o.ops) && n < maxBatch && o.ops[n].batchable() {
					n++
				}
			}
			batch := o.ops[:n:n]
			o.ops = o.ops[n:]
			for _, w := range batch {
				if w.event {
					o.events--
				}
			}
			// Posts and answers keep their order of arrival, so the first
			// has the lowest sequence number: what flush compares with.
			o.busy, o.busySeq = true, batch[0].seq
			o.notify()
			o.mu.Unlock()
			return o.merge(batch), true
		}
		ch := o.changed
		o.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-ch:
		}
	}
	return write{}, false
}

// merge makes one write of a batch from next: itself when alone and neither
// a post nor an answer, else a publish of its posts in order, then of its
// answers. Each answer's after hears the outcome.
func (o *outbox) merge(batch []write) write {
	if !batch[0].batchable() {
		return batch[0]
	}
	var (
		posts   []store.Publication
		answers []store.Answer
		afters  []func(error)
	)
	for _, w := range batch {
		if w.post != nil {
			posts = append(posts, *w.post)
		} else {
			answers = append(answers, *w.answer)
		}
		if w.after != nil {
			afters = append(afters, w.after)
		}
	}
	op := "publish"
	if len(answers) > 0 {
		op = "publish and reply"
	}
	return write{seq: batch[0].seq, op: op,
		fn: func(ctx context.Context) error { return o.publish(ctx, posts, answers) },
		after: func(err error) {
			for _, f := range afters {
				f(err)
			}
		}}
}

func (o *outbox) done() {
	o.mu.Lock()
	o.busy = false
	o.notify()
	o.mu.Unlock()
}

// run applies writes until ctx ends; whatever is still pending then is
// reported as lost.
func (o *outbox) run(ctx context.Context) {
	for {
		w, ok := o.next(ctx)
		if !ok {
			break
		}
		err := o.retry(ctx, w.op, w.fn)
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, errNotOwner):
			o.log.Info("session data not written: another connector owns the account", "op", w.op)
		default:
			o.log.Error("redis write failed for good, dropped", "op", w.op, openqq.LogKeyErr, err)
		}
		if w.after != nil {
			w.after(err)
		}
		o.done()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	if len(o.ops) > 0 {
		o.log.Error("session ended with unwritten redis writes", "pending", len(o.ops), "events", o.events)
	}
	for _, w := range o.ops {
		if w.after != nil {
			w.after(errOutboxClosed)
		}
	}
}

// flush waits until every write queued so far has been applied, or ctx
// ends. Writes queued meanwhile are not waited for, so a steady stream of
// messages cannot hold it up.
func (o *outbox) flush(ctx context.Context) error {
	o.mu.Lock()
	upTo := o.seq
	o.mu.Unlock()
	for {
		o.mu.Lock()
		done := !o.busy || o.busySeq > upTo
		for _, w := range o.ops {
			if w.seq <= upTo {
				done = false
				break
			}
		}
		ch := o.changed
		o.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// pending is the number of writes not yet applied.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.ops)
	if o.busy {
		n++
	}
	return n
}

// flushTimeout bounds the final flush at shutdown.
const flushTimeout = 10 * time.Second
