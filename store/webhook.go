package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The webhook dispatcher's state (relay/webhook): the subscriber registry
// shared by every dispatcher instance of an account, one delivery lease per
// subscriber, the retry state of the event at the head of each subscriber's
// queue, the dead letters asked to be replayed (the dead letters themselves
// are in deadletter.go), and the reply claims that let only the first reply
// to an event act.

// WebhookSubscriber is one stored subscriber: its configuration, a JSON
// document the dispatcher owns, and its status.
type WebhookSubscriber struct {
	ID     string
	Config json.RawMessage
	Status WebhookStatus
}

// WebhookStatus is a subscriber's delivery state ("active", "paused",
// "disabled"), why, and since when.
type WebhookStatus struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// saveWebhookSubscriberScript writes a subscriber's configuration and gives
// it a status only when it has none, so a restart that re-registers the
// configured subscribers keeps a pause or a 410 disable.
//
// KEYS[1] webhook:subscribers   KEYS[2] webhook:status
// ARGV[1] id   ARGV[2] config JSON   ARGV[3] initial status JSON
// Returns 1 created, 0 updated.
var saveWebhookSubscriberScript = redis.NewScript(`
local created = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
return created
`)

// SaveWebhookSubscriber creates or updates a subscriber; initial is its
// status when it is new (an existing status is kept).
func (db *DB) SaveWebhookSubscriber(ctx context.Context, acct, id string, config []byte, initial WebhookStatus) (created bool, err error) {
	if err := checkWebhookID(acct, id); err != nil {
		return false, fmt.Errorf("store: save webhook subscriber: %w", err)
	}
	if !json.Valid(config) {
		return false, fmt.Errorf("store: save webhook subscriber: %w: config is not JSON", ErrInvalid)
	}
	st, err := json.Marshal(initial)
	if err != nil {
		return false, fmt.Errorf("store: save webhook subscriber: %w", err)
	}
	n, err := saveWebhookSubscriberScript.Run(ctx, db.short,
		[]string{webhookSubscribersKey(acct), webhookStatusKey(acct)}, id, config, st).Int64()
	if err != nil {
		return false, fmt.Errorf("store: save webhook subscriber: %w", err)
	}
	return n == 1, nil
}

// WebhookSubscribers lists the account's subscribers, sorted by id. A
// subscriber without a status reads as active.
func (db *DB) WebhookSubscribers(ctx context.Context, acct string) ([]WebhookSubscriber, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: webhook subscribers: %w", err)
	}
	var cfg, st *redis.MapStringStringCmd
	_, err := db.short.Pipelined(ctx, func(p redis.Pipeliner) error {
		cfg = p.HGetAll(ctx, webhookSubscribersKey(acct))
		st = p.HGetAll(ctx, webhookStatusKey(acct))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: webhook subscribers: %w", err)
	}
	out := make([]WebhookSubscriber, 0, len(cfg.Val()))
	for id, c := range cfg.Val() {
		s := WebhookSubscriber{ID: id, Config: json.RawMessage(c), Status: WebhookStatus{State: "active"}}
		if raw, ok := st.Val()[id]; ok {
			if err := json.Unmarshal([]byte(raw), &s.Status); err != nil {
				return nil, fmt.Errorf("store: webhook subscribers: status of %s: %w", id, err)
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b WebhookSubscriber) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// setWebhookStatusScript changes the status of an existing subscriber.
//
// KEYS[1] webhook:subscribers   KEYS[2] webhook:status
// ARGV[1] id   ARGV[2] status JSON
// Returns 1 set, 0 no such subscriber.
var setWebhookStatusScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
	return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// SetWebhookStatus changes a subscriber's status; ErrNotFound when there is
// no such subscriber.
func (db *DB) SetWebhookStatus(ctx context.Context, acct, id string, st WebhookStatus) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: set webhook status: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store: set webhook status: %w", err)
	}
	n, err := setWebhookStatusScript.Run(ctx, db.short,
		[]string{webhookSubscribersKey(acct), webhookStatusKey(acct)}, id, b).Int64()
	if err != nil {
		return fmt.Errorf("store: set webhook status: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: set webhook status: subscriber %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteWebhookSubscriber removes a subscriber with its consumer group on
// the events stream, its dead letters, replay queue, retry state and lease.
// It reports whether the subscriber existed.
func (db *DB) DeleteWebhookSubscriber(ctx context.Context, acct, id, group string) (bool, error) {
	if err := checkWebhookID(acct, id); err != nil {
		return false, fmt.Errorf("store: delete webhook subscriber: %w", err)
	}
	var del *redis.IntCmd
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, webhookSubscribersKey(acct), id)
		p.HDel(ctx, webhookStatusKey(acct), id)
		p.Del(ctx, deadLettersKey(acct, group), webhookReplayKey(acct, id),
			webhookRetryKey(acct, id), webhookLeaseKey(acct, id))
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: delete webhook subscriber: %w", err)
	}
	if err := db.destroyEventGroup(ctx, acct, group); err != nil {
		return false, fmt.Errorf("store: delete webhook subscriber: %w", err)
	}
	return del.Val() == 1, nil
}

// destroyEventGroup drops a consumer group of the events stream, if both
// exist.
func (db *DB) destroyEventGroup(ctx context.Context, acct, group string) error {
	n, err := db.short.Exists(ctx, eventsKey(acct)).Result()
	if err != nil || n == 0 {
		return err
	}
	if err := db.short.XGroupDestroy(ctx, eventsKey(acct), group).Err(); err != nil {
		return fmt.Errorf("xgroup destroy %s: %w", group, err)
	}
	return nil
}

// acquireWebhookLeaseScript takes a subscriber's delivery lease when it is
// free, or renews it for the same owner.
//
// KEYS[1] webhook:lease:{id}
// ARGV[1] owner   ARGV[2] ttl (ms)
// Returns 1 held by owner now, 0 held by another owner.
var acquireWebhookLeaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
if cur == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
return 0
`)

// AcquireWebhookLease takes or renews the lease that makes owner the only
// dispatcher delivering to subscriber id; false when another owner has it.
func (db *DB) AcquireWebhookLease(ctx context.Context, acct, id, owner string, ttl time.Duration) (bool, error) {
	if err := checkWebhookID(acct, id); err != nil {
		return false, fmt.Errorf("store: acquire webhook lease: %w", err)
	}
	if owner == "" || ttl < time.Millisecond {
		return false, fmt.Errorf("store: acquire webhook lease: %w: empty owner or ttl under 1 ms", ErrInvalid)
	}
	n, err := acquireWebhookLeaseScript.Run(ctx, db.short, []string{webhookLeaseKey(acct, id)}, owner, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("store: acquire webhook lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseWebhookLease gives up owner's lease on subscriber id; releasing a
// lease that is not (any more) owner's does nothing.
func (db *DB) ReleaseWebhookLease(ctx context.Context, acct, id, owner string) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: release webhook lease: %w", err)
	}
	if err := releaseLeaseScript.Run(ctx, db.short, []string{webhookLeaseKey(acct, id)}, owner).Err(); err != nil {
		return fmt.Errorf("store: release webhook lease: %w", err)
	}
	return nil
}

// WebhookRetry is the retry state of the event at the head of one
// subscriber's queue, kept so that a dispatcher taking over goes on with the
// schedule instead of starting it again.
type WebhookRetry struct {
	EventID    string    `json:"event_id"`
	Attempts   int       `json:"attempts"`
	First      time.Time `json:"first"` // first attempt
	Next       time.Time `json:"next"`  // earliest next attempt
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
}

// SaveWebhookRetry stores subscriber id's retry state for ttl.
func (db *DB) SaveWebhookRetry(ctx context.Context, acct, id string, r WebhookRetry, ttl time.Duration) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: save webhook retry: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: save webhook retry: %w", err)
	}
	if err := db.short.Set(ctx, webhookRetryKey(acct, id), b, max(ttl, time.Second)).Err(); err != nil {
		return fmt.Errorf("store: save webhook retry: %w", err)
	}
	return nil
}

// LoadWebhookRetry reads subscriber id's retry state; ErrNotFound when there
// is none.
func (db *DB) LoadWebhookRetry(ctx context.Context, acct, id string) (WebhookRetry, error) {
	var r WebhookRetry
	if err := checkWebhookID(acct, id); err != nil {
		return r, fmt.Errorf("store: load webhook retry: %w", err)
	}
	b, err := db.short.Get(ctx, webhookRetryKey(acct, id)).Bytes()
	if isNil(err) {
		return r, fmt.Errorf("store: load webhook retry: %w", ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: load webhook retry: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("store: load webhook retry: %w", err)
	}
	return r, nil
}

// ClearWebhookRetry drops subscriber id's retry state.
func (db *DB) ClearWebhookRetry(ctx context.Context, acct, id string) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: clear webhook retry: %w", err)
	}
	if err := db.short.Del(ctx, webhookRetryKey(acct, id)).Err(); err != nil {
		return fmt.Errorf("store: clear webhook retry: %w", err)
	}
	return nil
}

// claimWebhookReplyScript lets one subscriber act on an event's reply.
//
// KEYS[1] webhook:replied:{event}
// ARGV[1] subscriber   ARGV[2] ttl (ms)
// Returns 1 claimed now or earlier by the same subscriber, 0 by another.
var claimWebhookReplyScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return 1
end
return 0
`)

// ClaimWebhookReply reports whether subscriber may act on its reply to
// event: the first claim wins; the winner may claim again (a redelivery after
// a crash re-queues the same idempotent commands).
func (db *DB) ClaimWebhookReply(ctx context.Context, acct, event, subscriber string, ttl time.Duration) (bool, error) {
	if err := checkWebhookID(acct, subscriber); err != nil {
		return false, fmt.Errorf("store: claim webhook reply: %w", err)
	}
	if _, err := cursor(event); err != nil || event == "" || event == "$" {
		return false, fmt.Errorf("store: claim webhook reply: %w: bad event id %q", ErrInvalid, event)
	}
	n, err := claimWebhookReplyScript.Run(ctx, db.short, []string{webhookReplyKey(acct, event)},
		subscriber, max(ttl, time.Second).Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("store: claim webhook reply: %w", err)
	}
	return n == 1, nil
}

func checkWebhookID(acct, id string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	if id == "" || strings.ContainsAny(id, "{}: \t\r\n") {
		return fmt.Errorf("%w: webhook subscriber id %q", ErrInvalid, id)
	}
	return nil
}

// RequestWebhookReplay asks the dispatcher delivering to subscriber id to
// replay these dead letters (ids in the subscriber's dead-letter stream).
func (db *DB) RequestWebhookReplay(ctx context.Context, acct, id string, deadLetters ...string) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: request webhook replay: %w", err)
	}
	for _, dl := range deadLetters {
		if c, err := cursor(dl); err != nil || c == "$" || c == "0-0" {
			return fmt.Errorf("store: request webhook replay: %w: bad dead letter id %q", ErrInvalid, dl)
		}
	}
	for lo := 0; lo < len(deadLetters); lo += maxArgsBatch {
		members := make([]any, 0, maxArgsBatch)
		for _, dl := range deadLetters[lo:min(lo+maxArgsBatch, len(deadLetters))] {
			members = append(members, dl)
		}
		if err := db.short.SAdd(ctx, webhookReplayKey(acct, id), members...).Err(); err != nil {
			return fmt.Errorf("store: request webhook replay: %w", err)
		}
	}
	return nil
}

// WebhookReplays lists the dead letters of subscriber id waiting to be
// replayed, oldest first.
func (db *DB) WebhookReplays(ctx context.Context, acct, id string) ([]string, error) {
	if err := checkWebhookID(acct, id); err != nil {
		return nil, fmt.Errorf("store: webhook replays: %w", err)
	}
	ids, err := db.short.SMembers(ctx, webhookReplayKey(acct, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: webhook replays: %w", err)
	}
	slices.SortFunc(ids, compareStreamIDs)
	return ids, nil
}

// DoneWebhookReplay removes dead letters from subscriber id's replay
// requests, once replayed (or gone).
func (db *DB) DoneWebhookReplay(ctx context.Context, acct, id string, deadLetters ...string) error {
	if err := checkWebhookID(acct, id); err != nil {
		return fmt.Errorf("store: done webhook replay: %w", err)
	}
	if len(deadLetters) == 0 {
		return nil
	}
	members := make([]any, len(deadLetters))
	for i, dl := range deadLetters {
		members[i] = dl
	}
	if err := db.short.SRem(ctx, webhookReplayKey(acct, id), members...).Err(); err != nil {
		return fmt.Errorf("store: done webhook replay: %w", err)
	}
	return nil
}

// DeadLetter reads one dead letter of group by its id; ErrNotFound when it
// is not there (replayed or trimmed).
func (db *DB) DeadLetter(ctx context.Context, acct, group, id string) (DeadLetter, error) {
	prev, err := previousStreamID(id)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("store: dead letter %s: %w", id, err)
	}
	dls, err := db.DeadLetters(ctx, acct, group, prev, 1)
	if err != nil {
		return DeadLetter{}, err
	}
	if len(dls) == 0 || dls[0].ID != id {
		return DeadLetter{}, fmt.Errorf("store: dead letter %s: %w", id, ErrNotFound)
	}
	return dls[0], nil
}

// previousStreamID is the stream id just before id ("ms-seq"), so that an
// exclusive range after it starts at id.
func previousStreamID(id string) (string, error) {
	ms, seq, err := splitStreamID(id)
	if err != nil {
		return "", err
	}
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10), nil
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10), nil
	}
	return "", fmt.Errorf("%w: stream id %q has no predecessor", ErrInvalid, id)
}

// splitStreamID parses a full stream id "ms-seq".
func splitStreamID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: stream id %q", ErrInvalid, id)
	}
	return ms, seq, nil
}

// compareStreamIDs orders stream ids as Redis does; malformed ids sort
// first, by text.
func compareStreamIDs(a, b string) int {
	am, as, aerr := splitStreamID(a)
	bm, bs, berr := splitStreamID(b)
	switch {
	case aerr != nil || berr != nil:
		return strings.Compare(a, b)
	case am != bm:
		return cmp.Compare(am, bm)
	}
	return cmp.Compare(as, bs)
}
