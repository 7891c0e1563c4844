// Package connector runs one QQ account: it holds the session through a
// protocol Backend, keeps its state, cookies, contacts and events in Redis,
// and executes the commands that relays queue there.
package connector

import (
	"context"
	"time"

	"github.com/openqq-relay/openqq"
)

// Backend is the protocol side of one QQ account, spoken in openqq types
// only so that SmartQQ (connector/webqq) and later backends are
// interchangeable. A Backend is used by one connector goroutine for login and
// polling; Send, Kick and Mute may be called concurrently with Poll.
type Backend interface {
	// ImportCookies loads a cookie jar exported earlier, so that the next
	// Login can reuse the session without a QR scan.
	ImportCookies(jar []byte) error
	// ExportCookies returns the cookie jar as JSON.
	ExportCookies() ([]byte, error)

	// Login logs in, reusing imported cookies when they still work
	// (scanned=false, the original's login(0)), else by QR code
	// (scanned=true, login(1)). Progress goes to obs, which the backend keeps
	// and also tells about later cookie changes.
	Login(ctx context.Context, obs openqq.LoginObserver) (scanned bool, err error)
	// Logout ends the session upstream (best effort).
	Logout(ctx context.Context) error

	// Contacts loads the user, friends, groups and discussions, with the
	// members of every group and discussion.
	Contacts(ctx context.Context) (*openqq.Contacts, error)

	// Poll waits for the next batch of incoming messages (one long poll; it
	// may return none). A lost session is reported as openqq.ErrLoginRequired
	// and a kick-off as openqq.ErrForcedOffline.
	Poll(ctx context.Context) ([]openqq.Message, error)

	// Send sends one message, with the backend's spacing and retries, and
	// returns it as sent (class send, with code, msg and info). The error is
	// only for a cancelled ctx or a target that does not exist.
	Send(ctx context.Context, out openqq.Outgoing) (*openqq.Message, error)
	// Kick removes members from a group. Failure is openqq.ErrFailure-worthy:
	// the caller answers code 201.
	Kick(ctx context.Context, groupID openqq.ID, memberIDs []openqq.ID) error
	// Mute silences members of a group for d (at least one minute).
	Mute(ctx context.Context, groupID openqq.ID, memberIDs []openqq.ID, d time.Duration) error
}
