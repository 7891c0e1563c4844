package connector_test

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/store"
)

// errRedisDown is what every call of a cut faultyDB returns.
var errRedisDown = errors.New("faulty: redis is down")

// faultyDB wraps the real store like asynq's testbroker: Cut makes every
// call fail as if Redis were unreachable, Restore brings it back.
type faultyDB struct {
	db  connector.DB
	cut atomic.Bool
}

func (f *faultyDB) Cut()     { f.cut.Store(true) }
func (f *faultyDB) Restore() { f.cut.Store(false) }

func (f *faultyDB) fail() error {
	if f.cut.Load() {
		return errRedisDown
	}
	return nil
}

var _ connector.DB = (*faultyDB)(nil)

func (f *faultyDB) Ping(ctx context.Context) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.Ping(ctx)
}

func (f *faultyDB) AddAccount(ctx context.Context, acct string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.AddAccount(ctx, acct)
}

func (f *faultyDB) AcquireLease(ctx context.Context, acct, owner string, ttl time.Duration) (store.Lease, error) {
	if err := f.fail(); err != nil {
		return store.Lease{}, err
	}
	return f.db.AcquireLease(ctx, acct, owner, ttl)
}

func (f *faultyDB) RenewLease(ctx context.Context, acct string, l store.Lease, ttl time.Duration) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.RenewLease(ctx, acct, l, ttl)
}

func (f *faultyDB) ReleaseLease(ctx context.Context, acct string, l store.Lease) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.ReleaseLease(ctx, acct, l)
}

func (f *faultyDB) Cookies(ctx context.Context, acct string) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.db.Cookies(ctx, acct)
}

func (f *faultyDB) SaveCookies(ctx context.Context, acct string, jar []byte) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.SaveCookies(ctx, acct, jar)
}

func (f *faultyDB) SetState(ctx context.Context, acct string, st store.State) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.SetState(ctx, acct, st)
}

func (f *faultyDB) SetQRCode(ctx context.Context, acct string, png []byte, ttl time.Duration) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.SetQRCode(ctx, acct, png, ttl)
}

func (f *faultyDB) DeleteQRCode(ctx context.Context, acct string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.DeleteQRCode(ctx, acct)
}

func (f *faultyDB) SaveContacts(ctx context.Context, acct string, c *openqq.Contacts) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.SaveContacts(ctx, acct, c)
}

func (f *faultyDB) PublishAndReply(ctx context.Context, acct string, posts []store.Publication, answers []store.Answer) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.PublishAndReply(ctx, acct, posts, answers)
}

func (f *faultyDB) ConsumeAndStart(ctx context.Context, acct, consumer string, count int, block time.Duration) ([]store.Claim, error) {
	if err := f.fail(); err != nil {
		// A real outage fails after a while, not at once.
		time.Sleep(min(block, 20*time.Millisecond))
		return nil, err
	}
	return f.db.ConsumeAndStart(ctx, acct, consumer, count, block)
}

func (f *faultyDB) ReclaimAndStart(ctx context.Context, acct, consumer string, minIdle time.Duration, running []string) ([]store.Claim, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.db.ReclaimAndStart(ctx, acct, consumer, minIdle, running)
}

func (f *faultyDB) Reply(ctx context.Context, acct string, d store.Delivery, res openqq.Result) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.db.Reply(ctx, acct, d, res)
}
