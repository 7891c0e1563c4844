package relay

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Store is the part of the Redis store the relay uses; *store.DB satisfies
// it, and tests may wrap one to inject faults.
type Store interface {
	Ping(ctx context.Context) error
	Accounts(ctx context.Context) ([]string, error)
	Contacts(ctx context.Context, acct string) (*openqq.Contacts, error)
	ContactsVersion(ctx context.Context, acct string) (int64, error)
	State(ctx context.Context, acct string) (store.State, error)
	StateAndContactsVersion(ctx context.Context, acct string) (store.State, int64, error)
	QRCode(ctx context.Context, acct string) ([]byte, error)
	Submit(ctx context.Context, acct string, cmd *openqq.Command) (openqq.Result, error)
	Enqueue(ctx context.Context, acct string, cmd *openqq.Command) error
	TakeCheckEvents(ctx context.Context, acct string, hold time.Duration) ([]json.RawMessage, error)
	ReadEvents(ctx context.Context, acct, after string, count int, block time.Duration) ([]store.StreamEvent, error)
	LastEventID(ctx context.Context, acct string) (string, error)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
