package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// DefaultCheckEventMax is the original's check_event_list_max_size (spec §7).
const DefaultCheckEventMax = 20

// PushCheckEvent appends a post (JSON) to the account's check_event buffer
// and trims the buffer to its newest maxItems items (the oldest are dropped, as
// in the original); maxItems ≤ 0 means DefaultCheckEventMax. One MULTI.
func (db *DB) PushCheckEvent(ctx context.Context, acct string, payload []byte, maxItems int) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: push check event: %w", err)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("store: push check event: %w: payload is not JSON", ErrInvalid)
	}
	if maxItems <= 0 {
		maxItems = DefaultCheckEventMax
	}
	key := checkEventsKey(acct)
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, payload)
		p.LTrim(ctx, key, int64(-maxItems), -1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: push check event: %w", err)
	}
	return nil
}

// takeCheckEventsScript empties the buffer and returns what it held.
//
// KEYS[1] the check_event list
// Returns every item, oldest first (an empty array when none).
var takeCheckEventsScript = redis.NewScript(`
local items = redis.call('LRANGE', KEYS[1], 0, -1)
if #items > 0 then redis.call('DEL', KEYS[1]) end
return items
`)

// TakeCheckEvents is check_event (spec §7): when the buffer holds items it
// returns them all and empties it atomically; else it waits up to hold for
// the next item (BLPOP, so each item goes to exactly one waiter: [GO] §7.3,
// no [null] answers) and returns it alone. An empty non-nil slice after hold.
// An item taken for a caller whose ctx has ended goes back to the head of
// the buffer.
func (db *DB) TakeCheckEvents(ctx context.Context, acct string, hold time.Duration) ([]json.RawMessage, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: take check events: %w", err)
	}
	key := checkEventsKey(acct)
	items, err := takeCheckEventsScript.Run(ctx, db.short, []string{key}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: take check events: %w", err)
	}
	if len(items) > 0 {
		out := make([]json.RawMessage, len(items))
		for i, s := range items {
			out[i] = json.RawMessage(s)
		}
		return out, nil
	}
	end := db.now().Add(hold)
	for ctx.Err() == nil {
		block, ok := boundBlock(ctx, end.Sub(db.now()))
		if !ok {
			break
		}
		kv, err := db.block.Do(ctx, "BLPOP", key, blockSeconds(block)).StringSlice()
		if isNil(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: take check events: blpop: %w", err)
		}
		if len(kv) != 2 {
			return nil, fmt.Errorf("store: take check events: blpop: unexpected answer of %d elements", len(kv))
		}
		if ctx.Err() != nil {
			db.putBack(ctx, acct, kv[1])
			break
		}
		return []json.RawMessage{json.RawMessage(kv[1])}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: take check events: %w", err)
	}
	return []json.RawMessage{}, nil
}

// putBack returns an item to the head of the buffer for the next poller.
func (db *DB) putBack(ctx context.Context, acct, item string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := db.short.LPush(ctx, checkEventsKey(acct), item).Err(); err != nil {
		db.log.ErrorContext(ctx, "check_event item lost", openqq.LogKeyAccount, acct, openqq.LogKeyErr, err)
	}
}
