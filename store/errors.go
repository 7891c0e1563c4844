package store

import "errors"

// Errors of the store. Submit also returns the root sentinels
// openqq.ErrTimeout (the command never ran and never will) and
// openqq.ErrOutcomeUnknown (it started, and no answer came).
var (
	// ErrNotFound: the thing asked for is not stored (contacts before the
	// first load, an unknown consumer group).
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: the command had started before (a connector that is
	// gone had read it); it must not run again.
	ErrDuplicate = errors.New("store: command started before")
	// ErrExpired: the command is past its deadline; it must not run.
	ErrExpired = errors.New("store: command expired")
	// ErrLeaseHeld: another owner holds the account's lease.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrLeaseLost: the lease expired or was taken over.
	ErrLeaseLost = errors.New("store: lease lost")
	// ErrInvalid: a bad argument (empty account, malformed cursor, command
	// without deadline, …); the error text says which.
	ErrInvalid = errors.New("store: invalid argument")
)
