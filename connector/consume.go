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
// MaxInflight at once), counted in inflight. A command read is a command
// started (store.ConsumeAndStart), so it reads only as many as it has free
// slots, and runs everything it read, even when shutdown begins meanwhile
// (the drain waits for it). Stale pending commands (a dead connector's) are
// reclaimed at the start and every ReclaimIdle.
func (r *Runner) consume(ctx, execCtx context.Context, inflight *sync.WaitGroup) {
	sem := make(chan struct{}, r.o.MaxInflight)
	var running sync.Map // stream ids being handled here, which a reclaim must skip
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
		var cs []store.Claim
		var err error
		if time.Since(lastReclaim) >= r.o.ReclaimIdle {
			minIdle := r.o.ReclaimIdle
			if lastReclaim.IsZero() {
				// We hold the lease, so every pending command belongs to a
				// connector that is gone (or to our own previous session).
				minIdle = 0
			}
			if cs, err = r.db.ReclaimAndStart(ctx, r.account, r.owner, minIdle, runningIDs(&running)); err == nil {
				lastReclaim = time.Now()
				if len(cs) > 0 {
					r.log.InfoContext(ctx, "reclaimed pending commands", "count", len(cs))
				}
			}
		} else {
			cs, err = r.db.ConsumeAndStart(ctx, r.account, r.owner, cap(sem)-len(sem), consumeBlock)
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
		for _, c := range cs {
			if _, dup := running.LoadOrStore(c.StreamID, true); dup {
				continue
			}
			slot := true
			select { // at most MaxInflight, but shutdown does not wait for a slot
			case sem <- struct{}{}:
			case <-ctx.Done():
				slot = false
			}
			inflight.Go(func() {
				defer func() {
					if slot {
						<-sem
					}
					running.Delete(c.StreamID)
				}()
				r.handle(execCtx, c)
			})
		}
	}
}

// runningIDs lists the stream ids in running.
func runningIDs(running *sync.Map) []string {
	var ids []string
	running.Range(func(k, _ any) bool {
		ids = append(ids, k.(string))
		return true
	})
	return ids
}

// handle runs one claimed delivery at most once: the claim said it is
// past its deadline, or that it had started before a crash, or it runs now
// on a context ending at its deadline, and the result goes back with the
// answer.
func (r *Runner) handle(execCtx context.Context, c store.Claim) {
	d, cmd := c.Delivery, c.Command
	log := r.log.With(openqq.LogKeyCommandID, cmd.ID, openqq.LogKeyAPI, cmd.API)
	switch {
	case errors.Is(c.Err, store.ErrExpired):
		log.InfoContext(execCtx, "command past its deadline; not run")
		// The answer is acknowledged always, and tells a relay that still
		// waits that the command never ran.
		r.metrics.commands.WithLabelValues(cmd.API, "expired").Inc()
		r.writeAnswer(execCtx, log, d, openqq.ErrorResult(openqq.ErrTimeout))
		return
	case c.Err != nil:
		log.WarnContext(execCtx, "command had started before; answering outcome unknown, never running it twice",
			"deliveries", d.Deliveries)
		r.answer(execCtx, log, d, openqq.ErrorResult(openqq.ErrOutcomeUnknown))
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
// on a short context of its own; a second copy is harmless, as the relay
// takes the first and the other expires unread. A reply that never lands leaves the command pending: a later
// reclaim answers it with "outcome unknown" and never runs it again.
func (r *Runner) answer(execCtx context.Context, log *slog.Logger, d store.Delivery, res openqq.Result) {
	r.metrics.commands.WithLabelValues(d.Command.API, strconv.Itoa(res.Code)).Inc()
	r.writeAnswer(execCtx, log, d, res)
}

// writeAnswer is answer without the metrics.
func (r *Runner) writeAnswer(execCtx context.Context, log *slog.Logger, d store.Delivery, res openqq.Result) {
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
