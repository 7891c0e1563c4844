package openqq

import "errors"

// Outgoing is a message to send: the target is a session id from the
// contacts. For sess messages TargetID is the member and exactly one of
// GroupID and DiscussID names the group or discussion it is reached through.
type Outgoing struct {
	Type      string // FriendMessage, GroupMessage, DiscussMessage or SessMessage
	TargetID  ID
	GroupID   ID
	DiscussID ID
	Content   string
	From      string // "api" for Openqq requests, "code" otherwise
}

// Session outcomes a protocol backend reports to the connector. Backends wrap
// them with detail (fmt.Errorf("…: %w", ErrLoginRequired)).
var (
	// ErrLoginRequired: the session is gone (expired, logged in elsewhere, relink
	// failed); the connector must log in again.
	ErrLoginRequired = errors.New("openqq: login required")
	// ErrForcedOffline: the service kicked the session off; the client stops.
	ErrForcedOffline = errors.New("openqq: forced offline")
	// ErrQRCodeExpired: the QR code expired more often than the configured limit.
	ErrQRCodeExpired = errors.New("openqq: qr code expired too often")
	// ErrNotSupported: the backend cannot do this (e.g. kick without ext data).
	ErrNotSupported = errors.New("openqq: not supported")
)

// LoginObserver hears about a login in progress and about cookie changes.
// It lives here, not in the connector, so that protocol backends implement
// the connector's Backend interface without importing it.
type LoginObserver interface {
	// QRCode is called with each new QR code image (PNG) to scan.
	QRCode(png []byte)
	// State is called on scaning and confirming (and any later state the
	// backend reports during login).
	State(s ClientState)
	// CookiesChanged is called with the exported jar whenever it changes.
	CookiesChanged(jar []byte)
}
