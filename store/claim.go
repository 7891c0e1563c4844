package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// Claim is a delivery that ConsumeAndStart or ReclaimAndStart has already
// put through Start: Err is Start's answer for it (nil: run it now). A
// claim with ErrExpired never runs; answered with openqq.ErrTimeout, its
// relay (if it still waits) hears that it did not run.
type Claim struct {
	Delivery
	Err error
}

// maxClaimScan bounds the pending entries one claim looks at: a connector
// has at most its in-flight commands and one batch pending.
const maxClaimScan = 1000

// claimScript starts every entry pending for one consumer that has no
// started marker yet, as Start would, and reports the rest. It runs right
// after the consumer's XREADGROUP or XAUTOCLAIM on the same connection, so
// it sees what they just handed over without another round trip.
//
// KEYS[1] the commands stream
// ARGV[1] group  ARGV[2] consumer  ARGV[3] now (unix ms)  ARGV[4] marker slack (ms)
// ARGV[5] the marker key prefix (markerKey without the command id)
// ARGV[6] the most entries to look at
// ARGV[7…] stream ids the consumer is running: skipped
// Returns {stream id, fields, deliveries, code} per entry: code 0 started
// now; 1 had started (another entry of the same id, or an earlier
// incarnation of the consumer); 2 expired (abandoned, or past its deadline:
// marked abandoned here); 3 not a command.
var claimScript = redis.NewScript(`
local now, slack, prefix = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local skip = {}
for i = 7, #ARGV do skip[ARGV[i]] = true end
local out = {}
local pel = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[6]), ARGV[2])
for _, p in ipairs(pel) do
	local sid, count = p[1], p[4]
	if not skip[sid] then
		local e = redis.call('XRANGE', KEYS[1], sid, sid)
		if #e == 0 then
			redis.call('XACK', KEYS[1], ARGV[1], sid) -- trimmed away
		else
			local f = e[1][2]
			local id, deadline
			for i = 1, #f, 2 do
				if f[i] == 'id' then id = f[i + 1] elseif f[i] == 'deadline' then deadline = tonumber(f[i + 1]) end
			end
			local code = 3
			if id and deadline and #id > 0 and #id <= 256 then
				local key = prefix .. id
				local m = redis.call('GET', key)
				if m == 'abandoned' then
					code = 2
				elseif m then
					code = 1
				elseif now >= deadline then
					redis.call('SET', key, 'abandoned', 'PX', slack)
					code = 2
				else
					redis.call('SET', key, 'started ' .. sid, 'PX', math.min(deadline - now, 86400000) + slack)
					code = 0
				end
			end
			out[#out + 1] = {sid, f, count, code}
		end
	end
end
return out
`)

// ConsumeAndStart is Consume followed by Start of each new delivery, in one
// round trip: the XREADGROUP and a script that claims what it handed over
// travel in one pipeline, and Redis runs the script the moment the read
// returns. A delivery that Start would refuse comes back with Start's error.
//
// running lists the stream ids the consumer is running (they stay pending
// until answered and are skipped). Any other entry pending for consumer is
// claimed too: one read but not started by an earlier incarnation runs
// now, one that had started comes back with ErrDuplicate.
func (db *DB) ConsumeAndStart(ctx context.Context, acct, consumer string, count int, block time.Duration, running []string) ([]Claim, error) {
	if err := checkConsumer(acct, consumer); err != nil {
		return nil, fmt.Errorf("store: consume: %w", err)
	}
	args, c := db.readArgs(ctx, acct, consumer, count, block)
	claims, err := db.claim(ctx, c, acct, consumer, running, func(p redis.Pipeliner) redis.Cmder {
		return p.XReadGroup(ctx, args)
	})
	if redis.HasErrorPrefix(err, "NOGROUP") {
		if err := db.createGroup(ctx, commandsKey(acct), connectorGroup, "0"); err != nil {
			return nil, fmt.Errorf("store: consume: %w", err)
		}
		return []Claim{}, nil // the next call reads
	}
	if err != nil {
		return nil, fmt.Errorf("store: consume: %w", err)
	}
	return claims, nil
}

// ReclaimAndStart is Reclaim followed by Start of what it took over, as
// ConsumeAndStart: commands another consumer read but had not started run
// here; those it had started come back with ErrDuplicate.
func (db *DB) ReclaimAndStart(ctx context.Context, acct, consumer string, minIdle time.Duration, running []string) ([]Claim, error) {
	if _, err := db.reclaim(ctx, acct, consumer, minIdle); err != nil {
		return nil, err
	}
	claims, err := db.claim(ctx, db.short, acct, consumer, running, nil)
	if err != nil {
		return nil, fmt.Errorf("store: reclaim: %w", err)
	}
	return claims, nil
}

// claim runs claimScript on c, after read when given (in the same
// pipeline), and decodes its answer. Entries that are not commands are
// acknowledged and dropped.
func (db *DB) claim(ctx context.Context, c redis.UniversalClient, acct, consumer string, running []string,
	read func(redis.Pipeliner) redis.Cmder) ([]Claim, error) {
	args := make([]any, 0, 6+len(running))
	args = append(args, connectorGroup, consumer, db.now().UnixMilli(), markerSlack.Milliseconds(),
		markerKey(acct, ""), maxClaimScan)
	for _, id := range running {
		args = append(args, id)
	}
	keys := []string{commandsKey(acct)}
	pipe := c.Pipeline()
	var readCmd redis.Cmder
	if read != nil {
		readCmd = read(pipe)
	}
	claimCmd := claimScript.EvalSha(ctx, pipe, keys, args...)
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	if readCmd != nil {
		if err := readCmd.Err(); err != nil && !isNil(err) {
			return nil, fmt.Errorf("xreadgroup: %w", err)
		}
	}
	rows, err := claimCmd.Slice()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		// What the read handed over waits, pending without a marker, for
		// this second claim, which loads the script.
		rows, err = claimScript.Run(ctx, db.short, keys, args...).Slice()
	}
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	claims, err := db.claims(ctx, acct, rows)
	if err != nil {
		return nil, err
	}
	// The script judged deadlines by the time the call was sent, which a
	// blocked read makes up to a block old: a command whose deadline passed
	// meanwhile is started but must not run. Its answer is ErrTimeout.
	now := db.now()
	for i, c := range claims {
		if c.Err == nil && !now.Before(c.Command.Deadline) {
			claims[i].Err = fmt.Errorf("store: start %s: %w", c.Command.ID, ErrExpired)
		}
	}
	return claims, nil
}

// claims decodes claimScript's rows.
func (db *DB) claims(ctx context.Context, acct string, rows []any) ([]Claim, error) {
	out := make([]Claim, 0, len(rows))
	var msgs []redis.XMessage
	var bad []string
	counts := map[string]int64{}
	codes := map[string]int64{}
	for _, r := range rows {
		row, ok := r.([]any)
		if !ok || len(row) != 4 {
			return nil, fmt.Errorf("claim: unexpected row %v", r)
		}
		sid, _ := row[0].(string)
		fields, _ := row[1].([]any)
		n, _ := row[2].(int64)
		code, _ := row[3].(int64)
		values := make(map[string]any, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			if k, ok := fields[i].(string); ok {
				values[k] = fields[i+1]
			}
		}
		if code == 3 {
			bad = append(bad, sid)
			continue
		}
		msgs = append(msgs, redis.XMessage{ID: sid, Values: values})
		counts[sid], codes[sid] = n, code
	}
	if len(bad) > 0 {
		db.log.WarnContext(ctx, "dropping bad command entries", openqq.LogKeyAccount, acct, "stream_ids", bad)
		if err := db.short.XAck(ctx, commandsKey(acct), connectorGroup, bad...).Err(); err != nil {
			db.log.WarnContext(ctx, "ack bad command entries", openqq.LogKeyAccount, acct, openqq.LogKeyErr, err)
		}
	}
	for _, d := range db.deliveries(ctx, acct, msgs, counts) {
		c := Claim{Delivery: d}
		switch codes[d.StreamID] {
		case 1:
			c.Err = fmt.Errorf("store: start %s: %w", d.Command.ID, ErrDuplicate)
		case 2:
			c.Err = fmt.Errorf("store: start %s: %w", d.Command.ID, ErrExpired)
		}
		out = append(out, c)
	}
	return out, nil
}
