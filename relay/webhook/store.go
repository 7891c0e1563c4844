package webhook

import (
	"context"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Store is the part of the Redis store the dispatcher uses; *store.DB
// satisfies it. Tests wrap it to make Redis fail on demand.
type Store interface {
	// The events stream, read as one consumer group per subscriber.
	EventGroup(ctx context.Context, acct, group, start string) error
	ReadEventGroup(ctx context.Context, acct, group, consumer string, count int, block time.Duration) ([]store.StreamEvent, error)
	AckEvents(ctx context.Context, acct, group string, ids ...string) error
	ReclaimEvents(ctx context.Context, acct, group, consumer string, minIdle time.Duration) ([]store.StreamEvent, error)
	LastEventID(ctx context.Context, acct string) (string, error)
	EventGroupCaughtUp(ctx context.Context, acct, group, upTo string) (bool, error)

	// Dead letters and their replay.
	DeadLetterEvent(ctx context.Context, acct, group string, ev store.StreamEvent, reason string) error
	DeadLetters(ctx context.Context, acct, group, after string, count int) ([]store.DeadLetter, error)
	DeadLetter(ctx context.Context, acct, group, id string) (store.DeadLetter, error)
	DeleteDeadLetters(ctx context.Context, acct, group string, ids ...string) error
	RequestWebhookReplay(ctx context.Context, acct, id string, deadLetters ...string) error
	WebhookReplays(ctx context.Context, acct, id string) ([]string, error)
	DoneWebhookReplay(ctx context.Context, acct, id string, deadLetters ...string) error

	// The subscriber registry.
	SaveWebhookSubscriber(ctx context.Context, acct, id string, config []byte, initial store.WebhookStatus) (bool, error)
	WebhookSubscribers(ctx context.Context, acct string) ([]store.WebhookSubscriber, error)
	SetWebhookStatus(ctx context.Context, acct, id string, st store.WebhookStatus) error
	DeleteWebhookSubscriber(ctx context.Context, acct, id, group string) (bool, error)

	// Delivery state.
	AcquireWebhookLease(ctx context.Context, acct, id, owner string, ttl time.Duration) (bool, error)
	ReleaseWebhookLease(ctx context.Context, acct, id, owner string) error
	SaveWebhookRetry(ctx context.Context, acct, id string, r store.WebhookRetry, ttl time.Duration) error
	LoadWebhookRetry(ctx context.Context, acct, id string) (store.WebhookRetry, error)
	ClearWebhookRetry(ctx context.Context, acct, id string) error

	// Replies.
	ClaimWebhookReply(ctx context.Context, acct, event, subscriber string, ttl time.Duration) (bool, error)
	Enqueue(ctx context.Context, acct string, cmd *openqq.Command) error
}

var _ Store = (*store.DB)(nil)
