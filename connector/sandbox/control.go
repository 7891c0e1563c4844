package sandbox

import (
	"errors"
	"fmt"
	"slices"
)

// Scripted behaviour: the scenarios a test or the control API sets up. All
// methods are safe for concurrent use with the protocol handlers.

var (
	// ErrNotFound is a control call naming a contact the world lacks.
	ErrNotFound = errors.New("sandbox: no such contact")
	// ErrInvalid is a control call with arguments that make no sense.
	ErrInvalid = errors.New("sandbox: invalid argument")
)

// ScanQR marks the QR code on display as scanned: ptqrlogin answers 67. With
// no QR code on display it applies to the next one.
func (s *Server) ScanQR() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.acct.qr; q != nil && !q.used && !q.expired {
		q.scanned = true
		return
	}
	s.acct.preScan = true
}

// ConfirmQR marks the QR code as scanned and confirmed on the phone: the next
// ptqrlogin answers 0. With no QR code on display it applies to the next one.
func (s *Server) ConfirmQR() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.acct.qr; q != nil && !q.used && !q.expired {
		q.scanned, q.confirmed = true, true
		return
	}
	s.acct.preConfirm = true
}

// ExpireQR expires the QR code on display: ptqrlogin answers 65 until the
// client fetches a new one.
func (s *Server) ExpireQR() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.acct.qr; q != nil {
		q.expired = true
	}
}

// ExpireSession ends the login as the service did after about two days:
// poll2 and every channel call answer rc (103 or 100000), the s.web2 calls
// 100000, and the cookies no longer resume (pt4_auth gives no check_sig
// URL), so the client must scan a new QR code.
func (s *Server) ExpireSession(rc int) error {
	if rc == 0 {
		return fmt.Errorf("%w: retcode 0", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLoginLocked(rc)
	s.log.Info("session expired", "retcode", rc)
	return nil
}

// UpdatePtwebqq makes the next poll2 answer 116 with a new ptwebqq, which
// the list hashes and later polls must then use. It returns the new value.
func (s *Server) UpdatePtwebqq() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.hexToken(32)
	s.script = append(s.script, pollScript{rc: 116, ptwebqq: p})
	s.notifyLocked()
	return p
}

// Relink makes the next poll2 answer 121; polls keep answering 121 until a
// login2 with key "" re-links the session (spec §18.5).
func (s *Server) Relink() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, pollScript{rc: 121})
	s.notifyLocked()
}

// FailPoll makes the next poll2 fail with HTTP status (502 and 504 were
// common, spec §18.4).
func (s *Server) FailPoll(status int) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("%w: HTTP status %d", ErrInvalid, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, pollScript{status: status})
	s.notifyLocked()
	return nil
}

// FailSend makes the next n valid sends answer retcode rc instead of
// success (1202 and 100100 were ambiguous, 100001 a failure, spec §19.2);
// they are not recorded in Sent. n = 0 cancels.
func (s *Server) FailSend(rc, n int) error {
	if rc == 0 || n < 0 {
		return fmt.Errorf("%w: retcode %d, n %d", ErrInvalid, rc, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRC, s.failN = rc, n
	return nil
}

// KickOffline forces the account offline: the next poll2 delivers a
// kick_message with reason, and the session is dead (103) after it.
func (s *Server) KickOffline(reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil || s.sess.dead != 0 {
		return fmt.Errorf("%w: no live session to kick", ErrInvalid)
	}
	if reason == "" {
		reason = "您的帐号在另一地点登录，您已被迫下线。"
	}
	s.sess.kicking, s.sess.kick = true, reason
	s.notifyLocked()
	s.log.Info("kicked offline", "reason", reason)
	return nil
}

// Reset rebuilds the world from the seed and forgets logins, queued events,
// scripts and records; held polls answer 103.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	s.log.Info("reset")
}

// World returns a copy of the contacts.
func (s *Server) World() World {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.snapshot()
}

// Sent returns the messages accepted from send calls, oldest first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Kicks returns the members removed by delete_group_member, oldest first.
func (s *Server) Kicks() []Kick {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.kicks)
}

// Mutes returns the set_group_shutup entries, oldest first.
func (s *Server) Mutes() []Mute {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mutes)
}

// State is the login progress, for a login page and for tests that wait.
type State struct {
	QR       string `json:"qr"`        // "none", "waiting", "scanned", "confirmed", "expired" or "used"
	LoggedIn bool   `json:"logged_in"` // a live login2 session exists
	Polling  int    `json:"polling"`   // poll2 requests held right now
	Queued   int    `json:"queued"`    // events waiting for the next poll2
}

// State reports the login progress.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{QR: "none", Polling: s.held, Queued: len(s.events)}
	if q := s.acct.qr; q != nil {
		switch {
		case q.used:
			st.QR = "used"
		case q.expired:
			st.QR = "expired"
		case q.confirmed:
			st.QR = "confirmed"
		case q.scanned:
			st.QR = "scanned"
		default:
			st.QR = "waiting"
		}
	}
	st.LoggedIn = s.sess != nil && s.sess.dead == 0
	return st
}
