package openqq

import "log/slog"

// Attribute keys shared by every component's structured logs.
const (
	LogKeyAccount    = "account"
	LogKeyComponent  = "component"
	LogKeyCommandID  = "cmd_id"
	LogKeyAPI        = "api"
	LogKeySubscriber = "subscriber"
	LogKeyState      = "state"
	LogKeyErr        = "err"
)

// Secret is a string that never appears in logs: tokens, cookies, passwords,
// webhook secrets.
type Secret string

// LogValue redacts the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String redacts the secret in fmt output too; use string(s) to read it.
func (Secret) String() string { return "[redacted]" }
