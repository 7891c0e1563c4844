package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Helpers shared by the commands and events streams.

// autoClaimCount is the XAUTOCLAIM page size.
const autoClaimCount = 100

// createGroup creates a consumer group (and the stream); an existing group is
// fine.
func (db *DB) createGroup(ctx context.Context, stream, group, start string) error {
	err := db.short.XGroupCreateMkStream(ctx, stream, group, start).Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("xgroup create %s: %w", group, err)
	}
	return nil
}

// autoClaim runs XAUTOCLAIM from "0-0" until the cursor comes back to
// "0-0", so every pending entry idle for minIdle is claimed. Entries deleted
// while pending are dropped from the pending list by Redis 7 itself.
func (db *DB) autoClaim(ctx context.Context, stream, group, consumer string, minIdle time.Duration) ([]redis.XMessage, error) {
	var all []redis.XMessage
	start := "0-0"
	for {
		msgs, next, err := db.short.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: consumer,
			MinIdle: minIdle, Start: start, Count: autoClaimCount,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("xautoclaim: %w", err)
		}
		all = append(all, msgs...)
		if next == "0-0" || next == "" || next == start {
			return all, nil
		}
		start = next
	}
}

// deliveryCounts asks XPENDING how often each claimed entry was delivered,
// one pipelined XPENDING per entry.
func (db *DB) deliveryCounts(ctx context.Context, stream, group string, msgs []redis.XMessage) (map[string]int64, error) {
	counts := make(map[string]int64, len(msgs))
	if len(msgs) == 0 {
		return counts, nil
	}
	cmds := make([]*redis.XPendingExtCmd, len(msgs))
	_, err := db.short.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range msgs {
			cmds[i] = p.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: m.ID, End: m.ID, Count: 1})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("xpending: %w", err)
	}
	for _, c := range cmds {
		for _, p := range c.Val() {
			counts[p.ID] = p.RetryCount
		}
	}
	return counts, nil
}

// boundBlock turns a caller's block into one go-redis can send: at most
// maxBlock, at least 1 ms (BLOCK 0 would wait forever), and ending before
// ctx does so that no read is cut off after the server has handed over an
// entry. ok is false when there is no time to block at all.
func boundBlock(ctx context.Context, block time.Duration) (time.Duration, bool) {
	if d, has := ctx.Deadline(); has {
		block = min(block, time.Until(d)-50*time.Millisecond)
	}
	if block <= 0 {
		return 0, false
	}
	return max(min(block, maxBlock), time.Millisecond), true
}
