package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Dead letters: webhook subscribers read the events stream as consumer
// groups; an event one of them gives up on moves to that group's dead-letter
// stream, where it waits to be replayed (read, delivered, deleted).

// maxDeadLetters caps a dead-letter stream (MAXLEN ~).
const maxDeadLetters = 100_000

// Fields of a dead-letter stream entry.
const (
	dlqFieldEventID    = "event_id"
	dlqFieldPost       = "post"
	dlqFieldReason     = "reason"
	dlqFieldAt         = "at" // unix ms
	dlqFieldDeliveries = "deliveries"
)

// DeadLetter is an event a subscriber gave up on.
type DeadLetter struct {
	ID     string      // the entry in the dead-letter stream
	Event  StreamEvent // the event, with its id in the events stream
	Reason string
	At     time.Time
}

// DeadLetterEvent moves ev from group to the group's dead letters and
// acknowledges it there, in one MULTI: the event is never acknowledged
// without being kept.
func (db *DB) DeadLetterEvent(ctx context.Context, acct, group string, ev StreamEvent, reason string) error {
	if err := checkGroup(acct, group); err != nil {
		return fmt.Errorf("store: dead letter: %w", err)
	}
	if ev.ID == "" || !json.Valid(ev.Payload) {
		return fmt.Errorf("store: dead letter: %w: event without id or JSON payload", ErrInvalid)
	}
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{
			Stream: deadLettersKey(acct, group), MaxLen: maxDeadLetters, Approx: true,
			Values: []any{
				dlqFieldEventID, ev.ID, dlqFieldPost, []byte(ev.Payload), dlqFieldReason, reason,
				dlqFieldAt, db.now().UnixMilli(), dlqFieldDeliveries, ev.Deliveries,
			},
		})
		p.XAck(ctx, eventsKey(acct), group, ev.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: dead letter: %w", err)
	}
	return nil
}

// DeadLetters lists up to count dead letters of group after the cursor
// after ("" or "0": from the oldest).
func (db *DB) DeadLetters(ctx context.Context, acct, group, after string, count int) ([]DeadLetter, error) {
	if err := checkGroup(acct, group); err != nil {
		return nil, fmt.Errorf("store: dead letters: %w", err)
	}
	after, err := cursor(after)
	if err != nil || after == "$" {
		return nil, fmt.Errorf("store: dead letters: %w: bad cursor", ErrInvalid)
	}
	start := "(" + after
	if after == "0-0" {
		start = "-"
	}
	msgs, err := db.short.XRangeN(ctx, deadLettersKey(acct, group), start, "+", eventCount(count)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		field := func(k string) string {
			v, _ := m.Values[k].(string)
			return v
		}
		at, _ := strconv.ParseInt(field(dlqFieldAt), 10, 64)
		n, _ := strconv.ParseInt(field(dlqFieldDeliveries), 10, 64)
		out = append(out, DeadLetter{
			ID:     m.ID,
			Event:  StreamEvent{ID: field(dlqFieldEventID), Payload: json.RawMessage(field(dlqFieldPost)), Deliveries: n},
			Reason: field(dlqFieldReason),
			At:     time.UnixMilli(at),
		})
	}
	return out, nil
}

// DeleteDeadLetters removes dead letters of group after a replay delivered
// them; no ids is a no-op.
func (db *DB) DeleteDeadLetters(ctx context.Context, acct, group string, ids ...string) error {
	if err := checkGroup(acct, group); err != nil {
		return fmt.Errorf("store: delete dead letters: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := db.short.XDel(ctx, deadLettersKey(acct, group), ids...).Err(); err != nil {
		return fmt.Errorf("store: delete dead letters: %w", err)
	}
	return nil
}
