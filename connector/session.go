package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openqq-relay/openqq"
)

// control is a request from a command to the session driver.
type control int

const (
	controlRelogin control = iota + 1 // relogin (spec §6.12)
	controlStop                       // stop_client
)

// control asks the driver to relogin or stop, controlAfter from now.
func (r *Runner) control(c control) {
	select {
	case r.ctl <- c:
	default:
		r.log.Warn("control request dropped: too many pending")
	}
}

// unknownSenderRefresh is the least time between two refreshes caused by
// messages from senders missing in the snapshot.
const unknownSenderRefresh = time.Minute

// drive runs the QQ session: init→loading, login, then polling, with the
// periodic contact refresh and the relogin and stop requests, until ctx ends
// or the session stops. It returns why it ended; polling has stopped then.
func (r *Runner) drive(ctx context.Context) error {
	for len(r.ctl) > 0 { // requests of an earlier session
		<-r.ctl
	}
	r.setState(openqq.StateLoading)
	r.importCookies(ctx)
	if err := r.login(ctx); err != nil {
		return err
	}
	d := &driver{refresh: time.NewTicker(r.o.RefreshInterval)}
	defer d.refresh.Stop()
	for {
		pollCtx, stopPoll := context.WithCancel(ctx)
		polled := make(chan error, 1)
		unknown := make(chan struct{}, 1)
		go func() { polled <- r.poll(pollCtx, unknown) }() // owned: waited for below
		pollEnded, err := r.supervise(ctx, d, polled, unknown)
		stopPoll()
		if !pollEnded {
			<-polled
		}
		if err != nil {
			return err
		}
		if err := r.relogin(ctx); err != nil {
			return err
		}
	}
}

// driver is what the session driver keeps across relogins.
type driver struct {
	refresh           *time.Ticker
	reloginAt, stopAt <-chan time.Time // pending control requests
	lastSenderRefresh time.Time
}

// supervise waits while polling runs: it refreshes the contacts and takes
// control requests until a relogin is due (nil) or the session ends (the
// reason). pollEnded says whether polled has been received.
func (r *Runner) supervise(ctx context.Context, d *driver, polled <-chan error, unknown <-chan struct{}) (pollEnded bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case err := <-polled:
			if errors.Is(err, openqq.ErrForcedOffline) {
				r.log.ErrorContext(ctx, "forced offline; stopping")
				return true, fmt.Errorf("connector: session: %w", err)
			}
			r.log.WarnContext(ctx, "session lost; logging in again", openqq.LogKeyErr, err)
			return true, nil
		case <-d.refresh.C:
			r.refreshLogged(ctx, "periodic")
		case <-unknown:
			if time.Since(d.lastSenderRefresh) >= unknownSenderRefresh {
				d.lastSenderRefresh = time.Now()
				r.refreshLogged(ctx, "unknown sender")
			}
		case c := <-r.ctl:
			if c == controlStop {
				d.stopAt = time.After(controlAfter)
			} else {
				d.reloginAt = time.After(controlAfter)
			}
		case <-d.reloginAt:
			d.reloginAt = nil
			r.log.InfoContext(ctx, "relogin requested")
			return false, nil
		case <-d.stopAt:
			r.log.InfoContext(ctx, "stop requested")
			return false, errStopRequested
		}
	}
}

// refreshLogged refreshes the contacts from the driver; a lost session
// shows up in the next poll, so errors are only logged here.
func (r *Runner) refreshLogged(ctx context.Context, why string) {
	if err := r.refresh(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "contacts refresh failed", "why", why, openqq.LogKeyErr, err)
	}
}

// poll receives messages until ctx ends (nil) or the session is lost or
// kicked off (the error). Other failures are retried with backoff. A message
// from a sender missing in the snapshot asks for a refresh on unknown,
// as the original did.
func (r *Runner) poll(ctx context.Context, unknown chan<- struct{}) error {
	b := newBackoff(time.Second, 30*time.Second)
	for {
		if !r.waitLease(ctx) {
			return nil
		}
		msgs, err := r.pollOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && r.fence.down() {
			continue // cut short by the fence: wait for the lease
		}
		r.polled(time.Now())
		switch {
		case errors.Is(err, openqq.ErrLoginRequired):
			r.metrics.pollErrors.WithLabelValues("login_required").Inc()
			return err
		case errors.Is(err, openqq.ErrForcedOffline):
			r.metrics.pollErrors.WithLabelValues("forced_offline").Inc()
			return err
		case err != nil:
			r.metrics.pollErrors.WithLabelValues("other").Inc()
			r.log.WarnContext(ctx, "poll failed, retrying", openqq.LogKeyErr, err)
			if !b.wait(ctx) {
				return nil
			}
			continue
		}
		b.reset()
		r.setState(openqq.StateRunning) // after every poll, as the original
		for i := range msgs {
			m := msgs[i]
			r.publish(openqq.NewMessagePost(&m))
			if r.unknownSender(&m) {
				select {
				case unknown <- struct{}{}:
				default:
				}
			}
		}
	}
}

// pollOnce is one long poll, cut short when ctx ends or the fence drops.
func (r *Runner) pollOnce(ctx context.Context) ([]openqq.Message, error) {
	callCtx, cancel := context.WithCancel(r.fence.current())
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return r.backend.Poll(callCtx)
}

// unknownSender reports whether a received message names a friend, group,
// discussion or member that the snapshot does not have.
func (r *Runner) unknownSender(m *openqq.Message) bool {
	c := r.contacts.Load()
	if c == nil || m.Class != openqq.ClassRecv {
		return false
	}
	switch m.Type {
	case openqq.FriendMessage:
		return c.Friend(m.SenderID) == nil
	case openqq.GroupMessage:
		g := c.Group(m.GroupID)
		return g == nil || (len(g.Members) > 0 && g.Member(m.SenderID) == nil)
	case openqq.DiscussMessage:
		d := c.Discuss(m.DiscussID)
		return d == nil || (len(d.Members) > 0 && d.Member(m.SenderID) == nil)
	}
	return false
}

// importCookies hands the saved jar to the backend, so that login can skip
// the QR scan. A missing or unusable jar just means a scan.
func (r *Runner) importCookies(ctx context.Context) {
	var jar []byte
	err := r.retry(ctx, "read cookies", func(ctx context.Context) error {
		var err error
		jar, err = r.db.Cookies(ctx, r.account)
		return err
	})
	if err != nil || len(jar) == 0 {
		return
	}
	if err := r.backend.ImportCookies(jar); err != nil {
		r.log.WarnContext(ctx, "saved cookies unusable; a qr scan follows", openqq.LogKeyErr, err)
	}
}

// login logs in and loads the contacts. The backend moves the state through
// scaning and confirming for a QR login; then come updating (loading the
// contacts, which emits no events: it is the first load) and running, with
// the login [1|0] event in between. Transient failures are retried; an
// expired QR code (too often) or a kick ends the session.
func (r *Runner) login(ctx context.Context) error {
	b := newBackoff(time.Second, time.Minute)
	for {
		scanned, err := r.backend.Login(ctx, observer{r})
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, openqq.ErrQRCodeExpired), errors.Is(err, openqq.ErrForcedOffline):
			r.log.ErrorContext(ctx, "login failed; stopping", openqq.LogKeyErr, err)
			return fmt.Errorf("connector: login: %w", err)
		case err != nil:
			r.log.WarnContext(ctx, "login failed, retrying", openqq.LogKeyErr, err)
			if !b.wait(ctx) {
				return context.Cause(ctx)
			}
			continue
		}
		r.setState(openqq.StateUpdating)
		r.setLoginTime(time.Now())
		r.exportCookies(ctx)
		r.sessionWrite("qrcode", "delete qrcode", func(ctx context.Context) error {
			return r.db.DeleteQRCode(ctx, r.account)
		})
		if err := r.loadContacts(ctx); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			// As the original: contacts that cannot load mean a bad session.
			r.log.WarnContext(ctx, "contacts failed to load after login; logging in again", openqq.LogKeyErr, err)
			r.logout(ctx)
			if !b.wait(ctx) {
				return context.Cause(ctx)
			}
			continue
		}
		isScan := 0
		if scanned {
			isScan = 1
		}
		r.log.InfoContext(ctx, "logged in", "scanned", scanned)
		r.publish(openqq.NewEventPost(openqq.EventLogin, isScan))
		r.setState(openqq.StateRunning)
		return nil
	}
}

// relogin is spec §3.7: polling has stopped; log out, forget the contacts,
// log in again with the same state sequence, and the caller polls again.
func (r *Runner) relogin(ctx context.Context) error {
	r.log.InfoContext(ctx, "relogin")
	r.logout(ctx)
	r.refreshMu.Lock()
	r.contacts.Store(nil)
	r.refreshMu.Unlock()
	return r.login(ctx)
}

func (r *Runner) logout(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.backend.Logout(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "logout failed", openqq.LogKeyErr, err)
	}
	r.exportCookies(ctx)
}

func (r *Runner) exportCookies(ctx context.Context) {
	jar, err := r.backend.ExportCookies()
	if err != nil {
		r.log.WarnContext(ctx, "cookies do not export", openqq.LogKeyErr, err)
		return
	}
	r.saveCookies(jar)
}

// loadContacts is the first load after a login: a few attempts, no events.
func (r *Runner) loadContacts(ctx context.Context) error {
	b := newBackoff(time.Second, 10*time.Second)
	var err error
	for range 3 {
		var c *openqq.Contacts
		if c, err = r.backend.Contacts(ctx); err == nil {
			r.refreshMu.Lock()
			r.contacts.Store(c)
			r.saveSnapshot(c)
			r.refreshMu.Unlock()
			return nil
		}
		if errors.Is(err, openqq.ErrLoginRequired) || !b.wait(ctx) {
			break
		}
	}
	return fmt.Errorf("connector: load contacts: %w", err)
}
