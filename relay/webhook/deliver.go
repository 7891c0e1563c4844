package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// fate is how the delivery of one event to one subscriber ended.
type fate int

const (
	fateDelivered fate = iota // 2xx: acknowledge
	fateSkipped               // filtered out (post_event): acknowledge
	fateDead                  // dead-lettered, which acknowledged it
)

// maxDrain bounds how much of an answer is read only to keep the
// connection alive.
const maxDrain = 64 << 10

// postHead is the part of a payload the dispatcher looks at.
type postHead struct {
	PostType string  `json:"post_type"`
	Event    string  `json:"event"`
	Format   *string `json:"format"`
}

func (h postHead) isMessage() bool {
	return h.PostType == openqq.PostReceiveMessage || h.PostType == openqq.PostSendMessage
}

// attemptResult is what one attempt brought back.
type attemptResult struct {
	status      int // 0: transport error
	err         error
	retryAfter  time.Duration
	contentType string
	body        []byte // read only when a reply may act on it
}

func (r attemptResult) describe() string {
	if r.status == 0 {
		return r.err.Error()
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

// deliver delivers ev with the retry policy; born starts its TTL (the
// append time, or the replay time for a replayed dead letter). The error is
// ctx's, a Redis failure, or errStopped: the event stays pending then.
func (w *worker) deliver(ctx context.Context, ev store.StreamEvent, born time.Time) (fate, error) {
	s := w.sub.Load()
	var head postHead
	if err := json.Unmarshal(ev.Payload, &head); err != nil {
		w.log.WarnContext(ctx, "skipping event that is not a post", "event", ev.ID, openqq.LogKeyErr, err)
		return fateSkipped, nil
	}
	if !s.wants(head.PostType, head.Event) {
		return fateSkipped, nil
	}
	st := store.WebhookRetry{EventID: ev.ID}
	if w.retry != nil && w.retry.EventID == ev.ID {
		st = *w.retry // a takeover goes on with the schedule
	}
	deadline := born.Add(w.d.policy.EventTTL)
	for {
		if f, done, err := w.ready(ctx, ev, &st, deadline); done || err != nil {
			return f, err
		}
		res := w.attempt(ctx, s, ev, &head)
		if ctx.Err() != nil {
			return 0, ctx.Err() // cut short by shutdown, not by the receiver
		}
		if f, done, err := w.settle(ctx, s, ev, &head, &st, res, deadline); done || err != nil {
			return f, err
		}
	}
}

// ready waits until the next attempt of ev may go out: the schedule and the
// breaker allow it. It dead-letters ev instead (done) when the attempts are
// used up or the TTL would pass first.
func (w *worker) ready(ctx context.Context, ev store.StreamEvent, st *store.WebhookRetry, deadline time.Time) (fate, bool, error) {
	for {
		now := w.d.clock.Now()
		next := st.Next
		if u := w.brk.until(); u.After(next) {
			next = u
		}
		switch {
		case st.Attempts >= len(w.d.policy.Schedule):
			f, err := w.deadLetter(ctx, ev, fmt.Sprintf("%d attempts failed, last: %s", st.Attempts, st.LastError))
			return f, true, err
		case !now.Before(deadline) || next.After(deadline):
			f, err := w.deadLetter(ctx, ev, fmt.Sprintf("expired after %d attempts, last: %s", st.Attempts, orNone(st.LastError)))
			return f, true, err
		case !next.After(now):
			return 0, false, nil
		}
		if err := w.flushAcks(ctx); err != nil { // what was delivered must not wait for a retry
			return 0, false, err
		}
		if err := w.d.clock.Sleep(ctx, next.Sub(now)); err != nil {
			return 0, false, err
		}
	}
}

// settle records one attempt's outcome: delivered (and the reply acted on),
// dead-lettered, the subscriber disabled (errStopped), or the next attempt
// scheduled (done false).
func (w *worker) settle(ctx context.Context, s *Subscriber, ev store.StreamEvent, head *postHead, st *store.WebhookRetry, res attemptResult, deadline time.Time) (fate, bool, error) {
	clock := w.d.clock
	now := clock.Now()
	st.Attempts++
	if st.First.IsZero() {
		st.First = now
	}
	out := classify(res.status)
	w.d.metrics.attempts.WithLabelValues(w.id, out.String()).Inc()
	switch out {
	case delivered:
		w.brk.success()
		w.d.metrics.latency.WithLabelValues(w.id).Observe(now.Sub(eventTime(ev.ID)).Seconds())
		w.setStats(func(x *workerStats) { x.LastDelivered, x.HeadEvent, x.NextAttempt = now, "", time.Time{} })
		if err := w.clearRetry(ctx); err != nil {
			return 0, true, err
		}
		w.reply(ctx, s, ev, head, &res)
		return fateDelivered, true, nil
	case reject:
		w.brk.success() // the endpoint is up; it refuses this payload
		f, err := w.deadLetter(ctx, ev, "rejected: "+res.describe())
		return f, true, err
	case gone:
		return 0, true, w.disable(ctx, s)
	}
	st.LastStatus, st.LastError = res.status, res.describe()
	if w.brk.failure(now) {
		w.log.WarnContext(ctx, "webhook breaker open", "until", w.brk.until(), "last", st.LastError)
	}
	st.Next = now.Add(w.d.policy.wait(st.Attempts, res.retryAfter))
	if err := w.saveRetry(ctx, *st, deadline); err != nil {
		return 0, true, err
	}
	w.log.WarnContext(ctx, "webhook attempt failed", "event", ev.ID, "attempt", st.Attempts,
		"next", st.Next, openqq.LogKeyErr, st.LastError)
	return 0, false, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// attempt makes one POST (or writes one stdout line).
func (w *worker) attempt(ctx context.Context, s *Subscriber, ev store.StreamEvent, head *postHead) attemptResult {
	if s.ID == StdoutID {
		if err := w.d.stdout.writeLine(ev.Payload); err != nil {
			return attemptResult{err: fmt.Errorf("stdout: %w", err)}
		}
		return attemptResult{status: http.StatusOK}
	}
	actx, cancel := context.WithTimeout(ctx, w.d.timeout(s))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.URL, bytes.NewReader(ev.Payload))
	if err != nil {
		return attemptResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.d.o.UserAgent)
	w.d.signer.Sign(req.Header, MessageID(w.d.account, s.ID, ev.ID), w.d.clock.Now(), ev.Payload)
	resp, err := w.d.client.Do(req)
	if err != nil {
		if isTimeout(err) {
			err = fmt.Errorf("timeout after %s", w.d.timeout(s))
		}
		return attemptResult{err: redactErr(err, s.URL)}
	}
	defer resp.Body.Close()
	res := attemptResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), w.d.clock.Now())
	if s.Reply && head.isMessage() && res.status/100 == 2 && isJSON(res.contentType) {
		res.body, err = io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
		if err != nil {
			res.body = nil // the delivery counts; only the reply is lost
			w.log.WarnContext(ctx, "webhook reply unreadable", "event", ev.ID, openqq.LogKeyErr, err)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return res
}

// redactErr keeps a transport error's meaning without the URL, whose query
// or user info may hold a credential.
func redactErr(err error, rawURL string) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(rawURL), ue.Err)
	}
	return err
}

// deadLetter gives up on ev: it moves to the subscriber's dead letters.
func (w *worker) deadLetter(ctx context.Context, ev store.StreamEvent, reason string) (fate, error) {
	if err := w.d.db.DeadLetterEvent(ctx, w.d.account, w.group, ev, reason); err != nil {
		return 0, err
	}
	w.d.metrics.deadLetters.WithLabelValues(w.id).Inc()
	w.log.ErrorContext(ctx, "webhook event dead-lettered", "event", ev.ID, "reason", reason)
	w.setStats(func(x *workerStats) { x.LastError, x.HeadEvent, x.NextAttempt = reason, "", time.Time{} })
	if err := w.clearRetry(ctx); err != nil {
		return 0, err
	}
	return fateDead, nil
}

// disable marks the subscriber disabled after a 410 Gone: nothing more goes
// there until an operator resumes it. The event stays pending.
func (w *worker) disable(ctx context.Context, s *Subscriber) error {
	reason := fmt.Sprintf("HTTP 410 Gone from %s", redactURL(s.URL))
	err := w.d.db.SetWebhookStatus(ctx, w.d.account, w.id, store.WebhookStatus{
		State: StateDisabled, Reason: reason, Since: w.d.clock.Now().UTC(),
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.d.metrics.setState(w.id, StateDisabled)
	w.log.ErrorContext(ctx, "webhook subscriber disabled", "reason", reason)
	w.setStats(func(x *workerStats) { x.LastError = reason })
	w.d.poke()
	return errStopped
}

// saveRetry persists the head event's retry state, for a takeover.
func (w *worker) saveRetry(ctx context.Context, st store.WebhookRetry, deadline time.Time) error {
	ttl := deadline.Sub(w.d.clock.Now())
	if err := w.d.db.SaveWebhookRetry(ctx, w.d.account, w.id, st, ttl); err != nil {
		return err
	}
	w.retry = &st
	w.setStats(func(x *workerStats) {
		x.LastError, x.HeadEvent, x.HeadAttempts, x.NextAttempt = st.LastError, st.EventID, st.Attempts, st.Next
	})
	return nil
}

func (w *worker) clearRetry(ctx context.Context) error {
	if w.retry == nil {
		return nil
	}
	if err := w.d.db.ClearWebhookRetry(ctx, w.d.account, w.id); err != nil {
		return err
	}
	w.retry = nil
	return nil
}

// reply acts on a reply-capable subscriber's answer to a message (spec
// §8.3): the first subscriber to claim the event wins, its commands go to
// the connector over the command bus. Failures are logged: the delivery
// itself succeeded.
func (w *worker) reply(ctx context.Context, s *Subscriber, ev store.StreamEvent, head *postHead, res *attemptResult) {
	if res.body == nil {
		return
	}
	q, err := parseQuickReply(res.body)
	if err != nil {
		w.log.WarnContext(ctx, "webhook reply ignored", "event", ev.ID, openqq.LogKeyErr, err)
		return
	}
	var post openqq.Post
	if q == nil || json.Unmarshal(ev.Payload, &post) != nil {
		return
	}
	formatText := head.Format == nil || *head.Format == "" || *head.Format == "text"
	cmds, err := replyCommands(&post, formatText, q, w.d.o.ReplyToSent)
	if err != nil {
		w.log.WarnContext(ctx, "webhook reply partly ignored", "event", ev.ID, openqq.LogKeyErr, err)
	}
	if len(cmds) == 0 {
		if post.PostType == openqq.PostSendMessage && q.Reply != nil && *q.Reply != "" {
			w.d.metrics.replies.WithLabelValues(w.id, "loop_guard").Inc()
			w.log.DebugContext(ctx, "reply to a sent message ignored (OPENQQ_REPLY_TO_SENT is off)", "event", ev.ID)
		}
		return
	}
	if age := w.d.clock.Now().Sub(eventTime(ev.ID)); age > w.d.o.ReplyMaxAge {
		w.d.metrics.replies.WithLabelValues(w.id, "too_old").Inc()
		w.log.InfoContext(ctx, "reply to an old message dropped", "event", ev.ID, "age", age)
		return
	}
	won, err := w.d.db.ClaimWebhookReply(ctx, w.d.account, ev.ID, w.id, w.d.policy.EventTTL)
	if err != nil || !won {
		w.d.metrics.replies.WithLabelValues(w.id, "lost").Inc()
		if err != nil {
			w.log.ErrorContext(ctx, "webhook reply lost", "event", ev.ID, openqq.LogKeyErr, err)
		}
		return
	}
	now := time.Now() // the command bus runs on real time, whatever the policy clock says
	for i, c := range cmds {
		c.ID, c.Created, c.Deadline = commandID(w.d.account, ev.ID, i), now, now.Add(w.d.o.CommandDeadline)
		if err := w.d.db.Enqueue(ctx, w.d.account, c); err != nil {
			w.d.metrics.replies.WithLabelValues(w.id, "lost").Inc()
			w.log.ErrorContext(ctx, "webhook reply lost", "event", ev.ID, openqq.LogKeyAPI, c.API, openqq.LogKeyErr, err)
			continue
		}
		w.d.metrics.replies.WithLabelValues(w.id, c.API).Inc()
		w.log.DebugContext(ctx, "webhook reply queued", "event", ev.ID, openqq.LogKeyAPI, c.API, openqq.LogKeyCommandID, c.ID)
	}
}
