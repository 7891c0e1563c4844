package webqq

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/openqq-relay/openqq"
)

// maxUnknownRetcodes: the 4th unknown poll2 retcode in a row means the
// session is lost (spec §18.3).
const maxUnknownRetcodes = 3

// Poll runs one poll2 long poll and returns the messages it brought
// (spec §18). Only one poll is in flight at a time; a second call waits for
// the first. Between polls the client pauses Options.PollPause.
//
// A lost session (retcodes 100, 103, 100000, four unknown retcodes in a
// row, a failed relink, five -3 send results) is an error matching
// openqq.ErrLoginRequired; a kick_message is openqq.ErrForcedOffline (with
// the messages before it in the batch). Other errors (network, HTTP status,
// a broken body) are transient: poll again. HTTP 502 and 504 are "no
// messages" ([GO] spec §18.4: the original stopped polling on them).
func (c *Client) Poll(ctx context.Context) ([]openqq.Message, error) {
	select {
	case c.pollSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.pollSem }()

	c.mu.Lock()
	s := c.sess
	c.sess.relogin = nil
	c.mu.Unlock()
	if !s.loggedIn {
		return nil, errNotLoggedIn
	}
	if s.relogin != nil {
		return nil, s.relogin
	}
	if !s.lastPoll.IsZero() {
		if err := sleep(ctx, time.Until(s.lastPoll.Add(c.pollPause))); err != nil {
			return nil, err
		}
	}
	body, err := c.poll2(ctx, s)
	c.mu.Lock()
	c.sess.lastPoll = time.Now()
	c.mu.Unlock()
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && (he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout) {
			c.log.DebugContext(ctx, "poll2 gateway error, no messages", "status", he.Status)
			return nil, nil
		}
		return nil, err
	}
	b, err := decodePoll2(body)
	if err != nil {
		return nil, err
	}
	return c.handleBatch(ctx, b)
}

func (c *Client) poll2(ctx context.Context, s session) ([]byte, error) {
	form, err := rForm(map[string]any{"clientid": clientID, "key": "", "psessionid": s.psessionid,
		"ptwebqq": nullable(s.ptwebqq, s.ptwebqqSet)})
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{api: "poll2", method: http.MethodPost, host: hostD1, path: "/channel/poll2",
		form: form, referer: refD1})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// handleBatch acts on the retcode of a poll2 answer (spec §18.3).
func (c *Client) handleBatch(ctx context.Context, b pollBatch) ([]openqq.Message, error) {
	unknown := 0
	c.mu.Lock()
	switch b.Retcode {
	case 0, 102, 109, 110, 1202, 100012, 116, 100, 103, 100000, 120, 121:
		c.sess.pollUnknown = 0
	default:
		c.sess.pollUnknown++
		unknown = c.sess.pollUnknown
		if unknown > maxUnknownRetcodes {
			c.sess.pollUnknown = 0
		}
	}
	c.mu.Unlock()

	switch b.Retcode {
	case 0:
		if b.Bad > 0 {
			c.log.WarnContext(ctx, "poll2 items skipped", "count", b.Bad)
		}
		return c.messages(ctx, b.Items)
	case 102, 109, 110, 1202, 100012:
		return nil, nil
	case 116:
		c.setPtwebqq(b.P)
		return nil, nil
	case 100, 103, 100000:
		c.log.WarnContext(ctx, "poll2: session lost", "retcode", b.Retcode)
		return nil, &RetcodeError{API: "poll2", Retcode: b.Retcode}
	case 120, 121:
		if err := c.relink(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("webqq: poll2: relink: %w: %w", err, openqq.ErrLoginRequired)
		}
		return nil, nil
	}
	c.log.WarnContext(ctx, "poll2: unknown retcode", "retcode", b.Retcode, "in_a_row", unknown)
	if unknown > maxUnknownRetcodes {
		return nil, fmt.Errorf("webqq: poll2: %d unknown retcodes in a row (last %d): %w",
			unknown, b.Retcode, openqq.ErrLoginRequired)
	}
	return nil, nil
}

// setPtwebqq takes the new ptwebqq of retcode 116, in memory and as the
// cookie ptwebqq on qq.com.
func (c *Client) setPtwebqq(p string) {
	c.mu.Lock()
	c.sess.ptwebqq, c.sess.ptwebqqSet = p, true
	c.mu.Unlock()
	c.setDomainCookie(domainQQ, &http.Cookie{Name: "ptwebqq", Value: p, Path: "/"})
}

// relink re-opens the channel after poll2 retcode 120/121 (spec §18.5).
func (c *Client) relink(ctx context.Context) error {
	s := c.snapshot()
	form, err := rForm(map[string]any{"clientid": clientID, "key": "", "psessionid": s.psessionid,
		"ptwebqq": nullable(s.ptwebqq, s.ptwebqqSet), "status": onlineState})
	if err != nil {
		return err
	}
	var a login2Answer
	if err := c.getJSON(ctx, call{api: "relink", method: http.MethodPost, host: hostD1, path: "/channel/login2",
		form: form, referer: refD1}, &a); err != nil {
		return err
	}
	if a.Retcode != 0 {
		return &RetcodeError{API: "relink", Retcode: a.Retcode}
	}
	r := a.Result
	c.mu.Lock()
	if r.PSessionID != "" {
		c.sess.psessionid = string(r.PSessionID)
	}
	if r.VFWebQQ != "" {
		c.sess.vfwebqq = string(r.VFWebQQ)
	}
	if r.PTWebQQ != nil {
		c.sess.ptwebqq, c.sess.ptwebqqSet = *r.PTWebQQ, true
	}
	if r.SKey != nil {
		c.sess.bkn = 0 // computed again from the new skey
	}
	ptwebqq, set := c.sess.ptwebqq, c.sess.ptwebqqSet
	c.mu.Unlock()
	if set {
		c.setDomainCookie(domainQQ, &http.Cookie{Name: "ptwebqq", Value: ptwebqq, Path: "/"})
	}
	if r.SKey != nil {
		c.setDomainCookie(domainQQ, &http.Cookie{Name: "skey", Value: *r.SKey, Path: "/"})
	}
	c.proxyCookies()
	c.log.InfoContext(ctx, "poll channel relinked")
	return nil
}
