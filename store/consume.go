package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// Delivery is one command handed to a connector.
type Delivery struct {
	StreamID string // the entry in the commands stream
	Command  openqq.Command
	// Deliveries counts how often the entry was handed out: 1 when read
	// new, more after Reclaim.
	Deliveries int64
}

// Answer pairs a delivery with its result, for ReplyAll.
type Answer struct {
	Delivery Delivery
	Result   openqq.Result
}

// Batch sizes: Consume's default count, and the most keys or members one
// call sends.
const (
	defaultConsumeCount = 64
	maxArgsBatch        = 500
)

// Consume reads up to count new commands for consumer (group "connector",
// created with MKSTREAM from the start of the stream when missing), waiting
// up to block (at most 5 s; ≤ 0 means not at all). An empty slice and no
// error on timeout. Entries that are not commands are acknowledged and
// skipped with a warning.
func (db *DB) Consume(ctx context.Context, acct, consumer string, count int, block time.Duration) ([]Delivery, error) {
	if err := checkConsumer(acct, consumer); err != nil {
		return nil, fmt.Errorf("store: consume: %w", err)
	}
	args, c := db.readArgs(ctx, acct, consumer, count, block)
	streams, err := c.XReadGroup(ctx, args).Result()
	if redis.HasErrorPrefix(err, "NOGROUP") {
		if err := db.createGroup(ctx, commandsKey(acct), connectorGroup, "0"); err != nil {
			return nil, fmt.Errorf("store: consume: %w", err)
		}
		streams, err = c.XReadGroup(ctx, args).Result()
	}
	if isNil(err) {
		return []Delivery{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: consume: xreadgroup: %w", err)
	}
	var msgs []redis.XMessage
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return db.deliveries(ctx, acct, msgs, nil), nil
}

// readArgs is the XREADGROUP of new commands for consumer, and the client
// to send it on.
func (db *DB) readArgs(ctx context.Context, acct, consumer string, count int, block time.Duration) (*redis.XReadGroupArgs, redis.UniversalClient) {
	if count <= 0 {
		count = defaultConsumeCount
	}
	return db.groupRead(ctx, commandsKey(acct), connectorGroup, consumer, int64(count), block)
}

// groupRead is an XREADGROUP of new entries, and the client to send it on:
// the blocking pool when it may wait.
func (db *DB) groupRead(ctx context.Context, stream, group, consumer string, count int64, block time.Duration) (*redis.XReadGroupArgs, redis.UniversalClient) {
	args := &redis.XReadGroupArgs{
		Group: group, Consumer: consumer,
		Streams: []string{stream, ">"},
		Count:   count, Block: -1,
	}
	c := db.short
	if b, ok := boundBlock(ctx, block); ok {
		args.Block, c = b, db.block
	}
	return args, c
}

// Reclaim takes over the commands that other consumers (or an earlier
// incarnation of this one) read but did not answer within minIdle, with
// XAUTOCLAIM until the whole pending list is scanned. minIdle must exceed the
// longest a command can run, or a live connector's command is taken from it.
func (db *DB) Reclaim(ctx context.Context, acct, consumer string, minIdle time.Duration) ([]Delivery, error) {
	msgs, err := db.reclaim(ctx, acct, consumer, minIdle)
	if err != nil {
		return nil, err
	}
	counts, err := db.deliveryCounts(ctx, commandsKey(acct), connectorGroup, msgs)
	if err != nil {
		return nil, fmt.Errorf("store: reclaim: %w", err)
	}
	return db.deliveries(ctx, acct, msgs, counts), nil
}

// reclaim is Reclaim's XAUTOCLAIM. A missing group is created, and there
// is nothing to take.
func (db *DB) reclaim(ctx context.Context, acct, consumer string, minIdle time.Duration) ([]redis.XMessage, error) {
	if err := checkConsumer(acct, consumer); err != nil {
		return nil, fmt.Errorf("store: reclaim: %w", err)
	}
	if minIdle < 0 {
		return nil, fmt.Errorf("store: reclaim: %w: negative min idle", ErrInvalid)
	}
	msgs, err := db.autoClaim(ctx, commandsKey(acct), connectorGroup, consumer, minIdle)
	if redis.HasErrorPrefix(err, "NOGROUP") {
		return nil, db.createGroup(ctx, commandsKey(acct), connectorGroup, "0")
	}
	if err != nil {
		return nil, fmt.Errorf("store: reclaim: %w", err)
	}
	return msgs, nil
}

// deliveries decodes stream entries; counts maps ids to delivery counts
// (nil: read new, so 1). Undecodable entries are acknowledged and dropped.
func (db *DB) deliveries(ctx context.Context, acct string, msgs []redis.XMessage, counts map[string]int64) []Delivery {
	ds := make([]Delivery, 0, len(msgs))
	var bad []string
	for _, m := range msgs {
		cmd, err := decodeCommand(m.Values)
		if err != nil {
			db.log.WarnContext(ctx, "dropping bad command entry", openqq.LogKeyAccount, acct,
				"stream_id", m.ID, openqq.LogKeyErr, err)
			bad = append(bad, m.ID)
			continue
		}
		n := int64(1)
		if counts != nil {
			n = max(counts[m.ID], 1)
		}
		ds = append(ds, Delivery{StreamID: m.ID, Command: cmd, Deliveries: n})
	}
	if len(bad) > 0 {
		if err := db.short.XAck(ctx, commandsKey(acct), connectorGroup, bad...).Err(); err != nil {
			db.log.WarnContext(ctx, "ack bad command entries", openqq.LogKeyAccount, acct, openqq.LogKeyErr, err)
		}
	}
	return ds
}

// Reply answers a command and acknowledges it, in one MULTI: LPUSH of the
// result with a TTL for its relay's BLPOP, XACK. Results of async commands
// are not pushed, as nobody waits for them.
func (db *DB) Reply(ctx context.Context, acct string, d Delivery, res openqq.Result) error {
	return db.ReplyAll(ctx, acct, []Answer{{Delivery: d, Result: res}})
}

// ReplyAll is Reply for a batch in one round trip.
func (db *DB) ReplyAll(ctx context.Context, acct string, answers []Answer) error {
	if err := db.PublishAndReply(ctx, acct, nil, answers); err != nil {
		return fmt.Errorf("store: reply: %w", err)
	}
	return nil
}

// PublishAndReply publishes posts (as PublishAll) and then answers commands
// (as ReplyAll) in one MULTI: the connector's usual write after a command,
// the post it caused visible no later than its answer, in one round trip.
func (db *DB) PublishAndReply(ctx context.Context, acct string, posts []Publication, answers []Answer) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: publish and reply: %w", err)
	}
	for _, p := range posts {
		if !json.Valid(p.Post) {
			return fmt.Errorf("store: publish and reply: %w: payload is not JSON", ErrInvalid)
		}
	}
	if len(posts) == 0 && len(answers) == 0 {
		return nil
	}
	results := make([][]byte, len(answers))
	for i, a := range answers {
		if a.Delivery.Command.Async {
			continue
		}
		var err error
		if results[i], err = json.Marshal(a.Result); err != nil {
			return fmt.Errorf("store: reply %s: %w", a.Delivery.Command.ID, err)
		}
	}
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		db.queuePosts(ctx, p, acct, posts)
		ids := make([]string, 0, len(answers))
		for i, a := range answers {
			ids = append(ids, a.Delivery.StreamID)
			if results[i] != nil {
				key := replyKey(acct, a.Delivery.Command.ID)
				p.LPush(ctx, key, results[i])
				p.PExpire(ctx, key, db.replyTTL)
			}
		}
		if len(ids) > 0 {
			p.XAck(ctx, commandsKey(acct), connectorGroup, ids...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: publish and reply: %w", err)
	}
	return nil
}

// Ack acknowledges a delivery without answering it: after ErrExpired, or for
// an async command that needs no marker.
func (db *DB) Ack(ctx context.Context, acct string, d Delivery) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: ack: %w", err)
	}
	if err := db.short.XAck(ctx, commandsKey(acct), connectorGroup, d.StreamID).Err(); err != nil {
		return fmt.Errorf("store: ack: %w", err)
	}
	return nil
}

func checkConsumer(acct, consumer string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	if consumer == "" {
		return fmt.Errorf("%w: empty consumer name", ErrInvalid)
	}
	return nil
}
