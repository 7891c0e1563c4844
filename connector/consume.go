package connector

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// consumeBlock bounds each wait for new commands, so that shutdown is seen
// quickly (go-redis does not abort a blocked read on cancel).
const consumeBlock = time.Second

// consume takes commands from the account's stream while the client is
// running, and runs each in its own goroutine on execCtx (at most
// MaxInflight at once), counted in inflight. It returns when ctx ends;
// commands read but not yet started stay pending for the next reclaim.
// Stale pending commands (a dead connector's) are reclaimed at the start
// and every ReclaimIdle.
func (r *Runner) consume(ctx, execCtx context.Context, inflight *sync.WaitGroup) {
	sem := make(chan struct{}, r.o.MaxInflight)
	var running sync.Map // stream ids being run here, which a reclaim must skip
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	var lastReclaim time.Time
	for ctx.Err() == nil {
		if !r.waitRunning(ctx) {
			return
		}
		select { // wait for a free slot before reading more
		case sem <- struct{}{}:
			<-sem
		case <-ctx.Done():
			return
		}
		var ds []store.Delivery
		var err error
		if time.Since(lastReclaim) >= r.o.ReclaimIdle {
			minIdle := r.o.ReclaimIdle
			if lastReclaim.IsZero() {
				// We hold the lease, so every pending command belongs to a
				// connector that is gone (or to our own previous session).
				minIdle = 0
			}
			if ds, err = r.db.Reclaim(ctx, r.account, r.owner, minIdle); err == nil {
				lastReclaim = time.Now()
				if len(ds) > 0 {
					r.log.InfoContext(ctx, "reclaimed pending commands", "count", len(ds))
				}
			}
		} else {
			ds, err = r.db.Consume(ctx, r.account, r.owner, cap(sem)-len(sem), consumeBlock)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.redisOK.Store(false)
			r.metrics.redisErrors.Inc()
			r.log.WarnContext(ctx, "reading commands failed, retrying", openqq.LogKeyErr, err)
			b.wait(ctx)
			continue
		}
		r.redisOK.Store(true)
		b.reset()
		for _, d := range ds {
			if _, dup := running.LoadOrStore(d.StreamID, true); dup {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil { // both were ready: shutting down wins
				return
			}
			inflight.Go(func() {
				defer func() { <-sem; running.Delete(d.StreamID) }()
				r.handle(execCtx, d)
			})
		}
	}
}

// handle runs one delivery at most once: Start claims it (or says it had
// started before a crash, or is past its deadline), the command runs on a
// context ending at its deadline, and the result goes back with Reply.
func (r *Runner) handle(execCtx context.Context, d store.Delivery) {
	cmd := d.Command
	log := r.log.With(openqq.LogKeyCommandID, cmd.ID, openqq.LogKeyAPI, cmd.API)
	err := r.retry(execCtx, "start command", func(ctx context.Context) error {
		return r.db.Start(ctx, r.account, d)
	})
	switch {
	case errors.Is(err, store.ErrExpired):
		log.InfoContext(execCtx, "command past its deadline or abandoned; not run")
		r.metrics.commands.WithLabelValues(cmd.API, "expired").Inc()
		if err := r.retry(execCtx, "ack command", func(ctx context.Context) error {
			return r.db.Ack(ctx, r.account, d)
		}); err != nil {
			log.WarnContext(execCtx, "ack failed", openqq.LogKeyErr, err)
		}
		return
	case errors.Is(err, store.ErrDuplicate):
		log.WarnContext(execCtx, "command had started before; answering outcome unknown, never running it twice",
			"deliveries", d.Deliveries)
		r.answer(execCtx, log, d, openqq.ErrorResult(openqq.ErrOutcomeUnknown))
		return
	case err != nil: // shutting down before it started: it stays pending
		return
	}
	ctx, cancel := r.commandContext(execCtx, cmd)
	res := r.execute(ctx, cmd)
	cancel()
	log.InfoContext(execCtx, "command done", "code", res.Code)
	r.answer(execCtx, log, d, res)
}

// commandContext ends when the caller stops waiting (the deadline of a
// synchronous command) and at most CommandTimeout from now.
func (r *Runner) commandContext(execCtx context.Context, cmd openqq.Command) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(r.o.CommandTimeout)
	if !cmd.Async && !cmd.Deadline.IsZero() && cmd.Deadline.Before(deadline) {
		deadline = cmd.Deadline
	}
	return context.WithDeadline(execCtx, deadline)
}

// answer replies and acknowledges. The answer goes through the session's
// outbox, after the snapshot and the posts the command caused (read your
// writes), usually in the same round trip as its post. When the outbox
// cannot write it (the session ended, or execCtx did first), it is written
// directly, retrying through Redis outages until execCtx ends, then once more
// on a short context of its own; a second copy is harmless, as the first
// answer wins. A reply that never lands leaves the command pending: a later
// reclaim answers it with "outcome unknown" and never runs it again.
func (r *Runner) answer(execCtx context.Context, log *slog.Logger, d store.Delivery, res openqq.Result) {
	r.metrics.commands.WithLabelValues(d.Command.API, strconv.Itoa(res.Code)).Inc()
	answered := make(chan error, 1)
	r.out.Load().add(write{op: "reply", answer: &store.Answer{Delivery: d, Result: res},
		after: func(err error) { answered <- err }})
	var err error
	select {
	case err = <-answered:
	case <-execCtx.Done():
		err = execCtx.Err()
	}
	if err == nil {
		return
	}
	reply := func(ctx context.Context) error { return r.db.Reply(ctx, r.account, d, res) }
	err = r.retry(execCtx, "reply", reply)
	if err != nil && execCtx.Err() != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(execCtx), 2*time.Second)
		err = reply(ctx)
		cancel()
	}
	if err != nil {
		log.ErrorContext(execCtx, "reply lost", openqq.LogKeyErr, err)
	}
}
