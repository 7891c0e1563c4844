package openqq

import (
	"encoding/json"
	"fmt"
)

// Error is an Openqq-style answer that is not a success: {"code":…,"status":…}.
// The relay writes it as the response body (HTTP 200 unless HTTPStatus says
// otherwise); lower layers return the sentinels below or wrap them with %w.
type Error struct {
	Code   int
	Status string
	// NullID adds "id":null, as the original's send endpoints answer.
	NullID bool
	// HTTPStatus is the HTTP status to answer with; 0 means 200, as Openqq.
	HTTPStatus int
}

func (e *Error) Error() string { return fmt.Sprintf("openqq: code %d: %s", e.Code, e.Status) }

// Is matches errors with the same code and status, so a copy made by
// MemberNotFound still matches its family with errors.Is when the text agrees.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

// MarshalJSON writes {"code":…,"status":…} and, for send errors, "id":null.
func (e *Error) MarshalJSON() ([]byte, error) {
	o := map[string]any{"code": e.Code, "status": e.Status}
	if e.NullID {
		o["id"] = nil
	}
	return json.Marshal(o)
}

// Openqq's own answers (spec §24).
var (
	ErrFriendNotFound        = &Error{Code: 100, Status: "friend not found", NullID: true}
	ErrGroupNotFound         = &Error{Code: 101, Status: "group not found", NullID: true}
	ErrDiscussNotFound       = &Error{Code: 102, Status: "discuss not found", NullID: true}
	ErrGroupMemberNotFound   = &Error{Code: 103, Status: "group member not found", NullID: true}
	ErrDiscussMemberNotFound = &Error{Code: 104, Status: "discuss member not found", NullID: true}
	// The two spaces before "not" are the original's text.
	ErrSessTargetNotFound = &Error{Code: 105, Status: "discuss member or group member  not found", NullID: true}
	ErrObjectNotFound     = &Error{Code: 100, Status: "object not found"}
	ErrMemberIDEmpty      = &Error{Code: 200, Status: "member id empty"}
	ErrFailure            = &Error{Code: 201, Status: "failure"}
	ErrShutupTime         = &Error{Code: 400, Status: "shutup time missing or error"}
	ErrAuthFailure        = &Error{Code: -6, Status: "auth failure", HTTPStatus: 401}
)

// Answers added by OpenQQ Relay where the original hung, crashed or had no
// equivalent. Codes stay in the Openqq style: a number and a short status.
var (
	// [GO] spec §6.5: empty content answers 400 instead of hanging.
	ErrContentMissing   = &Error{Code: 400, Status: "content missing", NullID: true}
	ErrBadRequest       = &Error{Code: 400, Status: "bad request", HTTPStatus: 400}
	ErrPermissionDenied = &Error{Code: -7, Status: "permission denied", HTTPStatus: 403}
	ErrTooLarge         = &Error{Code: 413, Status: "request body too large", HTTPStatus: 413}
	ErrInternal         = &Error{Code: 500, Status: "internal error", HTTPStatus: 500}
	// The connector is not running or not logged in.
	ErrClientNotReady = &Error{Code: 503, Status: "client not ready", HTTPStatus: 503}
	// The command was not picked up before its deadline and will never run.
	ErrTimeout = &Error{Code: 504, Status: "request timeout, not executed", HTTPStatus: 504}
	// The command had started when its connector died or its deadline passed:
	// the upstream call may or may not have gone out, and it is never retried.
	ErrOutcomeUnknown = &Error{Code: 520, Status: "outcome unknown", HTTPStatus: 504}
)

// MemberNotFound is the kick/shutup answer for a member that is not in the
// group: {"code":100,"status":"member <x> not found"}.
func MemberNotFound(x string) *Error {
	return &Error{Code: 100, Status: "member " + x + " not found"}
}
