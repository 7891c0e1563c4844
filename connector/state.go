package connector

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// setState moves the state machine (spec §3): a change of value is logged,
// written to the state record and published as state_change [old, new],
// except init→loading, which the original never posted. Setting the same
// state again does nothing.
func (r *Runner) setState(s openqq.ClientState) {
	r.mu.Lock()
	old := r.st.State
	if old == s {
		r.mu.Unlock()
		return
	}
	r.st.Previous, r.st.State = old, s
	close(r.stateSig)
	r.stateSig = make(chan struct{})
	r.mu.Unlock()

	r.metrics.setState(s)
	r.log.Info("state change", "from", old, openqq.LogKeyState, s)
	r.writeState()
	if old != openqq.StateInit || s != openqq.StateLoading {
		r.publish(openqq.NewEventPost(openqq.EventStateChange, old, s))
	}
}

// State returns the current lifecycle state.
func (r *Runner) State() openqq.ClientState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.State
}

// watchState returns the current state and a channel closed at the next change.
func (r *Runner) watchState() (openqq.ClientState, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.State, r.stateSig
}

// waitRunning blocks until the state is running, reporting false if ctx
// ends first.
func (r *Runner) waitRunning(ctx context.Context) bool {
	for {
		s, changed := r.watchState()
		if s == openqq.StateRunning {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
	}
}

// sessionWrite queues a write of the account's session data under key. It
// runs only while this connector's lease is confirmed (fence.check).
func (r *Runner) sessionWrite(key, op string, fn func(ctx context.Context) error) {
	r.out.Load().add(write{key: key, op: op, fn: func(ctx context.Context) error {
		if err := r.fence.check(); err != nil {
			return err
		}
		return fn(ctx)
	}})
}

// writeState queues a write of the whole state record. The record is read
// when the write runs, so a backlog writes the newest one; while running
// the write also proves liveness (the heartbeat field).
func (r *Runner) writeState() {
	r.sessionWrite("state", "set state", func(ctx context.Context) error {
		r.mu.Lock()
		if r.st.State == openqq.StateRunning {
			r.st.Heartbeat = time.Now()
		}
		st := r.st
		r.mu.Unlock()
		return r.db.SetState(ctx, r.account, st)
	})
}

// setLoginTime records a successful login in the state record.
func (r *Runner) setLoginTime(t time.Time) {
	r.mu.Lock()
	r.st.LoginTime = t
	r.mu.Unlock()
}

// polled records the end of a poll.
func (r *Runner) polled(t time.Time) {
	r.mu.Lock()
	r.st.LastPoll = t
	r.mu.Unlock()
}

// heartbeat rewrites the state record every HeartbeatInterval while
// running; the relay treats a stale heartbeat as "client not ready".
func (r *Runner) heartbeat(ctx context.Context) {
	t := time.NewTicker(r.o.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.State() == openqq.StateRunning {
				r.writeState()
			}
		}
	}
}

// publish sends a post to the events stream and, when the check_event rules
// say so, to the check_event buffer (spec §7), through the outbox.
func (r *Runner) publish(p openqq.Post) {
	b, err := json.Marshal(p)
	if err != nil {
		r.log.Error("post does not encode, dropped", "post", p.Name(), openqq.LogKeyErr, err)
		return
	}
	r.log.Debug("publish", "post_type", p.PostType, "name", p.Name())
	max := 0 // not for check_event
	if r.router.checkEvent(p) {
		max = r.o.CheckEventMax
	}
	r.out.Load().add(write{event: true, op: "publish", post: &store.Publication{Post: b, CheckEventMax: max}})
}

// publishPosts is the outbox's publish: the posts and command answers it
// has gathered, in one round trip.
func (r *Runner) publishPosts(ctx context.Context, posts []store.Publication, answers []store.Answer) error {
	if err := r.db.PublishAndReply(ctx, r.account, posts, answers); err != nil {
		return err
	}
	r.metrics.eventsAppended.Add(float64(len(posts)))
	return nil
}

// qrcodeTTL keeps a QR code in Redis a little longer than SmartQQ kept it
// valid; a new code replaces it before then.
const qrcodeTTL = 3 * time.Minute

// qrcodeName is the path-like first parameter of input_qrcode (the original
// sent its local file path); the image itself lives in Redis.
func (r *Runner) qrcodeName() string { return "qrcode/" + r.account + ".png" }

// observer hears the backend's login progress and cookie changes.
type observer struct{ r *Runner }

var _ openqq.LoginObserver = observer{}

// QRCode stores the image for the relay's QR page and posts input_qrcode
// [name, base64] (spec §8.2).
func (o observer) QRCode(png []byte) {
	r := o.r
	r.log.Info("new qr code to scan", "bytes", len(png))
	img := append([]byte(nil), png...)
	r.sessionWrite("qrcode", "set qrcode", func(ctx context.Context) error {
		return r.db.SetQRCode(ctx, r.account, img, qrcodeTTL)
	})
	r.publish(openqq.NewEventPost(openqq.EventInputQRCode, r.qrcodeName(), mimeBase64(img)))
}

// State follows the backend's login states (scaning, confirming).
func (o observer) State(s openqq.ClientState) { o.r.setState(s) }

// CookiesChanged writes the jar back, so a restart skips the QR scan.
func (o observer) CookiesChanged(jar []byte) { o.r.saveCookies(jar) }

func (r *Runner) saveCookies(jar []byte) {
	b := append([]byte(nil), jar...)
	r.sessionWrite("cookies", "save cookies", func(ctx context.Context) error {
		return r.db.SaveCookies(ctx, r.account, b)
	})
}
