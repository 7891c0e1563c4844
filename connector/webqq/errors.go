package webqq

import (
	"fmt"

	"github.com/openqq-relay/openqq"
)

// RetcodeError is an answer whose retcode (or ec) is not a success.
type RetcodeError struct {
	API     string
	Retcode int
}

func (e *RetcodeError) Error() string {
	return fmt.Sprintf("webqq: %s: retcode %d", e.API, e.Retcode)
}

// NeedsRelogin reports a poll2 retcode that means the session is gone
// (spec §18.3: 100, 103, 100000).
func (e *RetcodeError) NeedsRelogin() bool {
	switch e.Retcode {
	case 100, 103, 100000:
		return true
	}
	return false
}

// Unwrap makes a lost session match openqq.ErrLoginRequired.
func (e *RetcodeError) Unwrap() error {
	if e.NeedsRelogin() {
		return openqq.ErrLoginRequired
	}
	return nil
}

// Kick and mute refusals (spec §17.2). They all match openqq.ErrFailure,
// which the connector answers with code 201.
var (
	ErrExtUnavailable   = fmt.Errorf("webqq: ext features need a password login to qun.qq.com: %w", openqq.ErrFailure)
	ErrGroupUIDUnknown  = fmt.Errorf("webqq: group number unknown: %w", openqq.ErrFailure)
	ErrNotGroupAdmin    = fmt.Errorf("webqq: own role is not manage or create: %w", openqq.ErrFailure)
	ErrMemberUIDUnknown = fmt.Errorf("webqq: member qq number unknown: %w", openqq.ErrFailure)
	ErrMuteTooShort     = fmt.Errorf("webqq: mute shorter than 60 s: %w", openqq.ErrFailure)
	ErrMuteAdmin        = fmt.Errorf("webqq: cannot mute an admin or the owner: %w", openqq.ErrFailure)
)

// ErrEmptyContent: nothing to send ([GO] spec §6.5: the original hung).
var ErrEmptyContent = fmt.Errorf("webqq: empty content: %w", openqq.ErrContentMissing)

// errNotLoggedIn is returned by calls that need a session before Login.
var errNotLoggedIn = fmt.Errorf("webqq: not logged in: %w", openqq.ErrLoginRequired)
