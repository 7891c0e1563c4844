package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// eventField is the one field of an events stream entry: the post as JSON.
const eventField = "post"

// Read sizes of the events stream.
const (
	defaultEventCount = 100
	maxEventCount     = 10_000
)

// StreamEvent is one entry of the events stream.
type StreamEvent struct {
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"` // the post (webhook / check_event JSON)
	// Deliveries counts deliveries to a consumer group: 1 from
	// ReadEventGroup, more from ReclaimEvents; 0 from ReadEvents.
	Deliveries int64 `json:"-"`
}

// AppendEvent adds a post (JSON) to the account's events stream and returns
// its id. The stream is capped by Options.EventsMaxLen (MAXLEN ~) and, when
// Options.EventsMaxAge is set, trimmed by age (XTRIM MINID ~) in the same
// round trip.
func (db *DB) AppendEvent(ctx context.Context, acct string, post []byte) (string, error) {
	if err := checkAccount(acct); err != nil {
		return "", fmt.Errorf("store: append event: %w", err)
	}
	if !json.Valid(post) {
		return "", fmt.Errorf("store: append event: %w: payload is not JSON", ErrInvalid)
	}
	args := &redis.XAddArgs{Stream: eventsKey(acct), Values: []any{eventField, post}}
	if db.eventsMaxLen > 0 {
		args.MaxLen, args.Approx = db.eventsMaxLen, true
	}
	var add *redis.StringCmd
	_, err := db.short.Pipelined(ctx, func(p redis.Pipeliner) error {
		add = p.XAdd(ctx, args)
		if db.eventsMaxAge > 0 {
			minID := strconv.FormatInt(db.now().Add(-db.eventsMaxAge).UnixMilli(), 10)
			p.XTrimMinIDApprox(ctx, eventsKey(acct), minID, 0)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: append event: %w", err)
	}
	return add.Val(), nil
}

// Publish appends a post to the events stream and, when checkEventMax > 0,
// to the check_event buffer trimmed to the newest checkEventMax, in one
// MULTI: one round trip for what the connector does with every message,
// and never one without the other.
func (db *DB) Publish(ctx context.Context, acct string, post []byte, checkEventMax int) (string, error) {
	ids, err := db.PublishAll(ctx, acct, []Publication{{Post: post, CheckEventMax: checkEventMax}})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// Publication is one post for PublishAll.
type Publication struct {
	Post []byte // JSON
	// CheckEventMax > 0 also appends the post to the check_event buffer,
	// trimmed to the newest CheckEventMax.
	CheckEventMax int
}

// PublishAll is Publish for several posts, in order, in one MULTI: a
// connector that falls behind catches up in one round trip, not one per
// post. It returns the events stream ids of the posts.
func (db *DB) PublishAll(ctx context.Context, acct string, pubs []Publication) ([]string, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: publish: %w", err)
	}
	for _, p := range pubs {
		if !json.Valid(p.Post) {
			return nil, fmt.Errorf("store: publish: %w: payload is not JSON", ErrInvalid)
		}
	}
	if len(pubs) == 0 {
		return []string{}, nil
	}
	var adds []*redis.StringCmd
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		adds = db.queuePosts(ctx, p, acct, pubs)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: publish: %w", err)
	}
	ids := make([]string, len(adds))
	for i, a := range adds {
		ids[i] = a.Val()
	}
	return ids, nil
}

// queuePosts adds the commands of PublishAll to p.
func (db *DB) queuePosts(ctx context.Context, p redis.Pipeliner, acct string, pubs []Publication) []*redis.StringCmd {
	adds := make([]*redis.StringCmd, len(pubs))
	for i, pub := range pubs {
		args := &redis.XAddArgs{Stream: eventsKey(acct), Values: []any{eventField, pub.Post}}
		if db.eventsMaxLen > 0 {
			args.MaxLen, args.Approx = db.eventsMaxLen, true
		}
		adds[i] = p.XAdd(ctx, args)
		if pub.CheckEventMax > 0 {
			p.RPush(ctx, checkEventsKey(acct), pub.Post)
			p.LTrim(ctx, checkEventsKey(acct), int64(-pub.CheckEventMax), -1)
		}
	}
	if db.eventsMaxAge > 0 && len(pubs) > 0 {
		minID := strconv.FormatInt(db.now().Add(-db.eventsMaxAge).UnixMilli(), 10)
		p.XTrimMinIDApprox(ctx, eventsKey(acct), minID, 0)
	}
	return adds
}

// ReadEvents reads up to count events after the cursor after ("" or "0":
// from the start; "$": only events appended from now on), waiting up to
// block (at most 5 s; ≤ 0: not at all). Cursor readers keep the last id they
// saw and pass it back. An empty slice and no error when there is nothing.
func (db *DB) ReadEvents(ctx context.Context, acct, after string, count int, block time.Duration) ([]StreamEvent, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	after, err := cursor(after)
	if err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	args := &redis.XReadArgs{Streams: []string{eventsKey(acct), after}, Count: eventCount(count), Block: -1}
	c := db.short
	if b, ok := boundBlock(ctx, block); ok {
		args.Block, c = b, db.block
	}
	streams, err := c.XRead(ctx, args).Result()
	if isNil(err) {
		return []StreamEvent{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	evs, _ := db.streamEvents(ctx, acct, streams, nil, 0)
	return evs, nil
}

// LastEventID returns the id of the newest entry of the account's events
// stream, "0-0" when it has none: a concrete cursor that reads exactly what
// is appended after the call. Cursor readers resolve "$" with it before they
// wait, so that an event appended between two reads is not missed.
func (db *DB) LastEventID(ctx context.Context, acct string) (string, error) {
	if err := checkAccount(acct); err != nil {
		return "", fmt.Errorf("store: last event id: %w", err)
	}
	msgs, err := db.short.XRevRangeN(ctx, eventsKey(acct), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("store: last event id: %w", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// EventGroup creates a consumer group on the account's events stream (and
// the stream), starting after start: "" or "$" for new events only, "0" for
// all that are kept. An existing group is left as it is.
func (db *DB) EventGroup(ctx context.Context, acct, group, start string) error {
	if err := checkGroup(acct, group); err != nil {
		return fmt.Errorf("store: event group: %w", err)
	}
	if start == "" {
		start = "$"
	}
	start, err := cursor(start)
	if err != nil {
		return fmt.Errorf("store: event group: %w", err)
	}
	if err := db.createGroup(ctx, eventsKey(acct), group, start); err != nil {
		return fmt.Errorf("store: event group: %w", err)
	}
	return nil
}

// ReadEventGroup reads up to count events not yet delivered to group,
// waiting up to block (at most 5 s). The group must exist (EventGroup):
// else an error wrapping ErrNotFound. Each event must be acknowledged with
// AckEvents; unacknowledged ones come back through ReclaimEvents.
func (db *DB) ReadEventGroup(ctx context.Context, acct, group, consumer string, count int, block time.Duration) ([]StreamEvent, error) {
	if err := checkGroup(acct, group); err != nil {
		return nil, fmt.Errorf("store: read event group: %w", err)
	}
	if consumer == "" {
		return nil, fmt.Errorf("store: read event group: %w: empty consumer name", ErrInvalid)
	}
	args, c := db.groupRead(ctx, eventsKey(acct), group, consumer, eventCount(count), block)
	streams, err := c.XReadGroup(ctx, args).Result()
	if isNil(err) {
		return []StreamEvent{}, nil
	}
	if redis.HasErrorPrefix(err, "NOGROUP") {
		return nil, fmt.Errorf("store: read event group %s: %w", group, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read event group: %w", err)
	}
	evs, bad := db.streamEvents(ctx, acct, streams, nil, 1)
	if len(bad) > 0 {
		if err := db.AckEvents(ctx, acct, group, bad...); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// AckEvents acknowledges events of group; no ids is a no-op.
func (db *DB) AckEvents(ctx context.Context, acct, group string, ids ...string) error {
	if err := checkGroup(acct, group); err != nil {
		return fmt.Errorf("store: ack events: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := db.short.XAck(ctx, eventsKey(acct), group, ids...).Err(); err != nil {
		return fmt.Errorf("store: ack events: %w", err)
	}
	return nil
}

// EventGroupCaughtUp reports whether group has read every event of the
// account's stream up to and including upTo and acknowledged each one:
// its last delivered id is at or past upTo, and nothing at or before upTo
// is pending. A stream that does not exist has nothing to read (true); a
// missing group is an error wrapping ErrNotFound.
func (db *DB) EventGroupCaughtUp(ctx context.Context, acct, group, upTo string) (bool, error) {
	if err := checkGroup(acct, group); err != nil {
		return false, fmt.Errorf("store: event group caught up: %w", err)
	}
	upTo, err := cursor(upTo)
	if err == nil && upTo == "$" {
		err = fmt.Errorf("%w: want an event id, not $", ErrInvalid)
	}
	if err != nil {
		return false, fmt.Errorf("store: event group caught up: %w", err)
	}
	groups, err := db.short.XInfoGroups(ctx, eventsKey(acct)).Result()
	if redis.HasErrorPrefix(err, "no such key") {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: event group caught up: %w", err)
	}
	i := slices.IndexFunc(groups, func(g redis.XInfoGroup) bool { return g.Name == group })
	switch {
	case i < 0:
		return false, fmt.Errorf("store: event group caught up %s: %w", group, ErrNotFound)
	case compareIDs(groups[i].LastDeliveredID, upTo) < 0:
		return false, nil
	case groups[i].Pending == 0:
		return true, nil
	}
	pending, err := db.short.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: eventsKey(acct), Group: group, Start: "-", End: upTo, Count: 1,
	}).Result()
	if err != nil {
		return false, fmt.Errorf("store: event group caught up: %w", err)
	}
	return len(pending) == 0, nil
}

// ReclaimEvents takes over the events of group that were delivered but not
// acknowledged within minIdle (a dispatcher that crashed), with XAUTOCLAIM
// until the whole pending list is scanned, and fills Deliveries from
// XPENDING.
func (db *DB) ReclaimEvents(ctx context.Context, acct, group, consumer string, minIdle time.Duration) ([]StreamEvent, error) {
	if err := checkGroup(acct, group); err != nil {
		return nil, fmt.Errorf("store: reclaim events: %w", err)
	}
	if consumer == "" || minIdle < 0 {
		return nil, fmt.Errorf("store: reclaim events: %w: empty consumer or negative min idle", ErrInvalid)
	}
	msgs, err := db.autoClaim(ctx, eventsKey(acct), group, consumer, minIdle)
	if redis.HasErrorPrefix(err, "NOGROUP") {
		return nil, fmt.Errorf("store: reclaim events %s: %w", group, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reclaim events: %w", err)
	}
	counts, err := db.deliveryCounts(ctx, eventsKey(acct), group, msgs)
	if err != nil {
		return nil, fmt.Errorf("store: reclaim events: %w", err)
	}
	evs, bad := db.streamEvents(ctx, acct, []redis.XStream{{Messages: msgs}}, counts, 1)
	if len(bad) > 0 {
		if err := db.AckEvents(ctx, acct, group, bad...); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// streamEvents converts stream entries; entries without a post are logged
// and returned in bad. Deliveries comes from counts, else is def.
func (db *DB) streamEvents(ctx context.Context, acct string, streams []redis.XStream, counts map[string]int64, def int64) (evs []StreamEvent, bad []string) {
	evs = []StreamEvent{}
	for _, s := range streams {
		for _, m := range s.Messages {
			p, ok := m.Values[eventField].(string)
			if !ok || !json.Valid([]byte(p)) {
				db.log.WarnContext(ctx, "skipping bad event entry", openqq.LogKeyAccount, acct, "stream_id", m.ID)
				bad = append(bad, m.ID)
				continue
			}
			n, ok := counts[m.ID]
			if !ok {
				n = def
			}
			evs = append(evs, StreamEvent{ID: m.ID, Payload: json.RawMessage(p), Deliveries: n})
		}
	}
	return evs, bad
}

// cursor checks a stream position: "" and "0" mean the start, "$" the end,
// else "<ms>" or "<ms>-<seq>".
func cursor(after string) (string, error) {
	switch after {
	case "", "0":
		return "0-0", nil
	case "$":
		return "$", nil
	}
	ms, seq, hasSeq := strings.Cut(after, "-")
	if _, err := strconv.ParseUint(ms, 10, 64); err != nil {
		return "", fmt.Errorf("%w: bad event id %q", ErrInvalid, after)
	}
	if hasSeq {
		if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
			return "", fmt.Errorf("%w: bad event id %q", ErrInvalid, after)
		}
	}
	return after, nil
}

// compareIDs orders two stream ids checked by cursor ("<ms>" reads as
// "<ms>-0").
func compareIDs(a, b string) int {
	split := func(id string) (uint64, uint64) {
		ms, seq, _ := strings.Cut(id, "-")
		m, _ := strconv.ParseUint(ms, 10, 64)
		q, _ := strconv.ParseUint(seq, 10, 64)
		return m, q
	}
	am, aq := split(a)
	bm, bq := split(b)
	return cmp.Or(cmp.Compare(am, bm), cmp.Compare(aq, bq))
}

func eventCount(n int) int64 {
	if n <= 0 {
		return defaultEventCount
	}
	return int64(min(n, maxEventCount))
}

func checkGroup(acct, group string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	if group == "" {
		return fmt.Errorf("%w: empty group name", ErrInvalid)
	}
	return nil
}
