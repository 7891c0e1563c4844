package openqq

import (
	"encoding/json"
	"time"
)

// Write APIs that travel from a relay to the connector over the command bus.
// Their names are the Openqq paths without the /openqq/ prefix.
const (
	APISendFriendMessage  = "send_friend_message"
	APISendGroupMessage   = "send_group_message"
	APISendDiscussMessage = "send_discuss_message"
	APISendSessMessage    = "send_sess_message"
	APIKickGroupMember    = "kick_group_member"
	APIShutupGroupMember  = "shutup_group_member"
	APIRelogin            = "relogin"
	APIStopClient         = "stop_client"
	APIRefreshContacts    = "refresh_contacts" // ours: reload contacts now
)

// Command is one write request on the command bus. Params are the Openqq
// request parameters (first value of each, reserved keys removed), so the
// connector runs exactly what the caller asked, with the original's lookups.
type Command struct {
	ID       string            `json:"id"`
	API      string            `json:"api"`
	Params   map[string]string `json:"params"`
	Async    bool              `json:"async,omitempty"` // nobody waits for the reply
	Deadline time.Time         `json:"deadline"`        // the command never starts after this
	Created  time.Time         `json:"created"`
}

// Result is the connector's answer to a command: the Openqq response body,
// ready to be written by the relay, with its code for logs and metrics.
type Result struct {
	Code int             `json:"code"`
	Body json.RawMessage `json:"body"`
	// HTTPStatus is the HTTP status to answer with; 0 means 200.
	HTTPStatus int `json:"http_status,omitempty"`
}

// NewResult encodes v as the body of a result with the given code.
func NewResult(code int, v any) (Result, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Result{}, err
	}
	return Result{Code: code, Body: b}, nil
}

// ErrorResult turns an Openqq error into a result.
func ErrorResult(e *Error) Result {
	b, _ := e.MarshalJSON()
	return Result{Code: e.Code, Body: b, HTTPStatus: e.HTTPStatus}
}
