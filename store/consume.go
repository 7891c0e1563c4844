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

// Batch sizes: Consume's default count, and the most deliveries one script
// call handles (Lua's unpack limit is about 8000 values).
const (
	defaultConsumeCount = 64
	maxScriptBatch      = 500
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

// startCommandsScript sets the started markers of a batch of deliveries, each
// only if no marker is there and its deadline has not passed.
//
// KEYS[i]   done:{id_i}, the marker of delivery i
// ARGV[1]   now (unix ms)   ARGV[2] marker slack (ms)
// ARGV[1+2i] deadline_i (unix ms)   ARGV[2+2i] stream id_i
// Returns one int per delivery: 0 started, go ahead ("started <stream id>"
// stays until deadline + slack, the deadline capped at a day so that a
// foreign entry cannot make PX overflow); 1 duplicate: it had started or finished
// before; 2 expired: its relay abandoned it, or the deadline has passed
// (then marked abandoned here).
var startCommandsScript = redis.NewScript(`
local now, slack = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
	local deadline = tonumber(ARGV[1 + 2 * i])
	local m = redis.call('GET', key)
	if m == 'abandoned' then
		out[i] = 2
	elseif m then
		out[i] = 1
	elseif now >= deadline then
		redis.call('SET', key, 'abandoned', 'PX', slack)
		out[i] = 2
	else
		redis.call('SET', key, 'started ' .. ARGV[2 + 2 * i], 'PX', math.min(deadline - now, 86400000) + slack)
		out[i] = 0
	end
end
return out
`)

// Start claims the right to run a delivered command: nil means go ahead;
// ErrDuplicate means it had started before (a redelivery after a crash, or
// the same id queued twice) and must not run again (answer it with
// openqq.ErrOutcomeUnknown); ErrExpired means it is past its deadline or its
// relay gave up, and must not run (Ack it).
func (db *DB) Start(ctx context.Context, acct string, d Delivery) error {
	errs, err := db.StartAll(ctx, acct, []Delivery{d})
	if err != nil {
		return err
	}
	return errs[0]
}

// StartAll is Start for a batch in one round trip: errs[i] is Start's answer
// for ds[i]; err reports a failure of the call itself.
func (db *DB) StartAll(ctx context.Context, acct string, ds []Delivery) (errs []error, err error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: start: %w", err)
	}
	errs = make([]error, len(ds))
	for lo := 0; lo < len(ds); lo += maxScriptBatch {
		batch := ds[lo:min(lo+maxScriptBatch, len(ds))]
		keys := make([]string, len(batch))
		args := make([]any, 0, 2+2*len(batch))
		args = append(args, db.now().UnixMilli(), markerSlack.Milliseconds())
		for i, d := range batch {
			keys[i] = markerKey(acct, d.Command.ID)
			args = append(args, d.Command.Deadline.UnixMilli(), d.StreamID)
		}
		codes, err := startCommandsScript.Run(ctx, db.short, keys, args...).Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("store: start: %w", err)
		}
		for i, c := range codes {
			switch c {
			case 1:
				errs[lo+i] = fmt.Errorf("store: start %s: %w", batch[i].Command.ID, ErrDuplicate)
			case 2:
				errs[lo+i] = fmt.Errorf("store: start %s: %w", batch[i].Command.ID, ErrExpired)
			}
		}
	}
	return errs, nil
}

// replyCommandsScript answers a batch of commands and acknowledges them.
//
// KEYS[1]     the commands stream
// KEYS[2i]    done:{id_i}   KEYS[2i+1] reply:{id_i}
// ARGV[1]     group   ARGV[2] now (unix ms)   ARGV[3] reply TTL (ms)   ARGV[4] marker slack (ms)
// ARGV[2+3i]  stream id_i   ARGV[3+3i] deadline_i (unix ms)   ARGV[4+3i] result_i (JSON; "" for async)
// A result is pushed (LPUSH + PEXPIRE) and the marker set to "done" only when
// the marker is absent or "started <this stream id>": the first answer wins,
// an abandoned command's relay has gone, and a duplicate entry of the same id
// leaves the answer to the delivery that runs it. Every entry is XACKed.
// Returns the number of results pushed.
var replyCommandsScript = redis.NewScript(`
local now, ttl, slack = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local ids, pushed = {}, 0
for i = 1, (#KEYS - 1) / 2 do
	local marker, reply = KEYS[2 * i], KEYS[2 * i + 1]
	local sid, deadline, result = ARGV[2 + 3 * i], tonumber(ARGV[3 + 3 * i]), ARGV[4 + 3 * i]
	ids[i] = sid
	local m = redis.call('GET', marker)
	if not m or m == 'started ' .. sid then
		redis.call('SET', marker, 'done', 'PX', math.min(math.max(deadline - now, 0), 86400000) + slack)
		if result ~= '' then
			redis.call('LPUSH', reply, result)
			redis.call('PEXPIRE', reply, ttl)
			pushed = pushed + 1
		end
	end
end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return pushed
`)

// Reply answers a started command and acknowledges it, in one script: marker
// "done", LPUSH of the result with a TTL for its relay's BLPOP, XACK.
// Results of async commands are not pushed, as nobody waits for them.
func (db *DB) Reply(ctx context.Context, acct string, d Delivery, res openqq.Result) error {
	return db.ReplyAll(ctx, acct, []Answer{{Delivery: d, Result: res}})
}

// ReplyAll is Reply for a batch in one round trip.
func (db *DB) ReplyAll(ctx context.Context, acct string, answers []Answer) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: reply: %w", err)
	}
	for lo := 0; lo < len(answers); lo += maxScriptBatch {
		keys, args, err := db.replyArgs(acct, answers[lo:min(lo+maxScriptBatch, len(answers))])
		if err != nil {
			return err
		}
		if err := replyCommandsScript.Run(ctx, db.short, keys, args...).Err(); err != nil {
			return fmt.Errorf("store: reply: %w", err)
		}
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
	type call struct {
		keys []string
		args []any
	}
	var calls []call
	for lo := 0; lo < len(answers); lo += maxScriptBatch {
		keys, args, err := db.replyArgs(acct, answers[lo:min(lo+maxScriptBatch, len(answers))])
		if err != nil {
			return err
		}
		calls = append(calls, call{keys, args})
	}
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		db.queuePosts(ctx, p, acct, posts)
		for _, c := range calls {
			// EVAL, not EVALSHA: a NOSCRIPT inside MULTI could not be
			// retried without publishing the posts twice.
			replyCommandsScript.Eval(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: publish and reply: %w", err)
	}
	return nil
}

// replyArgs are the keys and arguments of replyCommandsScript for a batch.
func (db *DB) replyArgs(acct string, batch []Answer) ([]string, []any, error) {
	keys := make([]string, 1, 1+2*len(batch))
	keys[0] = commandsKey(acct)
	args := make([]any, 0, 4+3*len(batch))
	args = append(args, connectorGroup, db.now().UnixMilli(), db.replyTTL.Milliseconds(), markerSlack.Milliseconds())
	for _, a := range batch {
		id := a.Delivery.Command.ID
		keys = append(keys, markerKey(acct, id), replyKey(acct, id))
		var result []byte
		if !a.Delivery.Command.Async {
			var err error
			if result, err = json.Marshal(a.Result); err != nil {
				return nil, nil, fmt.Errorf("store: reply %s: %w", id, err)
			}
		}
		args = append(args, a.Delivery.StreamID, a.Delivery.Command.Deadline.UnixMilli(), result)
	}
	return keys, args, nil
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
