package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// Fields of a commands stream entry.
const (
	cmdFieldID       = "id"
	cmdFieldAPI      = "api"
	cmdFieldParams   = "params"   // JSON object of strings
	cmdFieldDeadline = "deadline" // unix ms
	cmdFieldCreated  = "created"  // unix ms
	cmdFieldAsync    = "async"    // "1" when nobody waits for the reply
)

// maxCommandIDLen keeps command ids (part of two key names) reasonable.
const maxCommandIDLen = 256

// maxCommandTTL is the furthest deadline a command may have.
const maxCommandTTL = 24 * time.Hour

// Marker values (markerKey).
const (
	markerStarted   = "started" // followed by " <stream id>"
	markerDone      = "done"
	markerAbandoned = "abandoned"
)

// Submit queues cmd for the account's connector and waits for its result
// until cmd.Deadline (the XADD and the first BLPOP share one round trip).
//
//   - openqq.ErrTimeout: the command never ran and never will. At the
//     deadline Submit marks it abandoned in the same script that checks it
//     had not started, so a connector's later Start gets ErrExpired.
//   - openqq.ErrOutcomeUnknown: it had started and no result came within
//     ReplyGrace after the deadline, or its connector answered so after a
//     crash.
//
// A missing cmd.ID is generated and a zero Created set to now. cmd.Deadline
// must be set; it is moved earlier when ctx ends sooner, leaving room for the
// grace and the final round trip, so that Submit always answers before ctx
// ends. When ctx is cancelled Submit abandons the command unless it started,
// and returns the context's error.
func (db *DB) Submit(ctx context.Context, acct string, cmd *openqq.Command) (openqq.Result, error) {
	if err := db.prepare(acct, cmd); err != nil {
		return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		if latest := d.Add(-db.replyGrace - 250*time.Millisecond); cmd.Deadline.After(latest) {
			cmd.Deadline = latest
		}
	}
	cmd.Async = false
	now := db.now()
	if !cmd.Deadline.After(now) {
		return openqq.Result{}, fmt.Errorf("store: submit: %w", openqq.ErrTimeout)
	}
	reply := replyKey(acct, cmd.ID)
	pipe := db.block.Pipeline()
	add := pipe.XAdd(ctx, db.commandArgs(acct, cmd))
	pop := pipe.Do(ctx, "BLPOP", reply, blockSeconds(min(cmd.Deadline.Sub(now), time.Second)))
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	if err := add.Err(); err != nil {
		return openqq.Result{}, fmt.Errorf("store: submit: xadd command: %w", err)
	}
	for {
		res, ok, err := popResult(pop)
		switch {
		case ok:
			return res, nil
		case ctx.Err() != nil:
			db.abandon(ctx, acct, cmd.ID)
			return openqq.Result{}, fmt.Errorf("store: submit: %w", ctx.Err())
		case err != nil:
			return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
		}
		remaining := cmd.Deadline.Sub(db.now())
		if remaining <= 0 {
			break
		}
		pop = db.block.Do(ctx, "BLPOP", reply, blockSeconds(min(remaining, maxBlock)))
	}
	return db.expire(ctx, acct, cmd.ID)
}

// Enqueue queues cmd with nobody waiting for its result (Openqq async=1).
// The connector runs it once, unless its deadline passes first.
func (db *DB) Enqueue(ctx context.Context, acct string, cmd *openqq.Command) error {
	if err := db.prepare(acct, cmd); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	cmd.Async = true
	if !cmd.Deadline.After(db.now()) {
		return fmt.Errorf("store: enqueue: %w", openqq.ErrTimeout)
	}
	if err := db.short.XAdd(ctx, db.commandArgs(acct, cmd)).Err(); err != nil {
		return fmt.Errorf("store: enqueue: xadd command: %w", err)
	}
	return nil
}

// prepare checks a command before it is queued and fills its id and
// creation time.
func (db *DB) prepare(acct string, cmd *openqq.Command) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	switch {
	case cmd == nil:
		return fmt.Errorf("%w: nil command", ErrInvalid)
	case cmd.API == "":
		return fmt.Errorf("%w: command without api", ErrInvalid)
	case cmd.Deadline.IsZero():
		return fmt.Errorf("%w: command without deadline", ErrInvalid)
	case len(cmd.ID) > maxCommandIDLen:
		return fmt.Errorf("%w: command id longer than %d bytes", ErrInvalid, maxCommandIDLen)
	case cmd.Deadline.After(db.now().Add(maxCommandTTL)):
		return fmt.Errorf("%w: command deadline more than %v ahead", ErrInvalid, maxCommandTTL)
	}
	if cmd.ID == "" {
		cmd.ID = newID()
	}
	if cmd.Created.IsZero() {
		cmd.Created = db.now()
	}
	return nil
}

func (db *DB) commandArgs(acct string, cmd *openqq.Command) *redis.XAddArgs {
	return &redis.XAddArgs{
		Stream: commandsKey(acct),
		MaxLen: db.commandsMaxLen,
		Approx: true,
		Values: encodeCommand(cmd),
	}
}

// popResult reads a BLPOP of a reply list: ok is false on a timeout.
func popResult(c *redis.Cmd) (res openqq.Result, ok bool, err error) {
	kv, err := c.StringSlice()
	if isNil(err) {
		return res, false, nil
	}
	if err != nil {
		return res, false, fmt.Errorf("blpop reply: %w", err)
	}
	if len(kv) != 2 {
		return res, false, fmt.Errorf("blpop reply: unexpected answer of %d elements", len(kv))
	}
	res, err = decodeResult(kv[1])
	return res, err == nil, err
}

func decodeResult(s string) (openqq.Result, error) {
	var res openqq.Result
	if err := json.Unmarshal([]byte(s), &res); err != nil {
		return openqq.Result{}, fmt.Errorf("corrupt reply: %w", err)
	}
	return res, nil
}

// blockSeconds formats a BLPOP timeout: Redis ≥ 6 takes fractions of a
// second, and 0 would mean forever.
func blockSeconds(d time.Duration) string {
	return strconv.FormatFloat(max(d, time.Millisecond).Seconds(), 'f', 3, 64)
}

// expireCommandScript settles a command whose deadline has passed.
//
// KEYS[1] reply:{id}  KEYS[2] done:{id} (the marker)
// ARGV[1] marker TTL in ms
// Returns {1, result}: the reply had come after all (popped);
// {0}: it never started, and now never will (marked abandoned);
// {2}: it started, and its result may still come.
var expireCommandScript = redis.NewScript(`
local r = redis.call('LPOP', KEYS[1])
if r then return {1, r} end
local m = redis.call('GET', KEYS[2])
if not m or m == 'abandoned' then
	redis.call('SET', KEYS[2], 'abandoned', 'PX', ARGV[1])
	return {0}
end
return {2}
`)

// expire runs at the deadline: ErrTimeout when the command never started,
// else a last wait of ReplyGrace for its result.
func (db *DB) expire(ctx context.Context, acct, id string) (openqq.Result, error) {
	v, err := expireCommandScript.Run(ctx, db.short,
		[]string{replyKey(acct, id), markerKey(acct, id)}, markerSlack.Milliseconds()).Slice()
	if err != nil {
		return openqq.Result{}, fmt.Errorf("store: submit: expire command: %w", err)
	}
	switch code, _ := v[0].(int64); code {
	case 0:
		return openqq.Result{}, fmt.Errorf("store: submit: %w", openqq.ErrTimeout)
	case 1:
		s, _ := v[1].(string)
		res, err := decodeResult(s)
		if err != nil {
			return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
		}
		return res, nil
	}
	end := db.now().Add(db.replyGrace)
	for remaining := db.replyGrace; remaining > 0 && ctx.Err() == nil; remaining = end.Sub(db.now()) {
		res, ok, err := popResult(db.block.Do(ctx, "BLPOP", replyKey(acct, id), blockSeconds(min(remaining, maxBlock))))
		if err != nil && ctx.Err() == nil {
			return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
		}
		if ok {
			return res, nil
		}
	}
	return openqq.Result{}, fmt.Errorf("store: submit: %w", openqq.ErrOutcomeUnknown)
}

// abandon is Submit's answer to a cancelled ctx: the command must not start
// for a caller that has gone. It runs on a context of its own.
func (db *DB) abandon(ctx context.Context, acct, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	err := expireCommandScript.Run(ctx, db.short,
		[]string{replyKey(acct, id), markerKey(acct, id)}, markerSlack.Milliseconds()).Err()
	if err != nil {
		db.log.WarnContext(ctx, "abandon cancelled command", openqq.LogKeyAccount, acct,
			openqq.LogKeyCommandID, id, openqq.LogKeyErr, err)
	}
}

// encodeCommand is the field list of a command's stream entry.
func encodeCommand(cmd *openqq.Command) []any {
	params, _ := json.Marshal(nonNilMap(cmd.Params)) // a map of strings always encodes
	v := []any{
		cmdFieldID, cmd.ID,
		cmdFieldAPI, cmd.API,
		cmdFieldParams, params,
		cmdFieldDeadline, cmd.Deadline.UnixMilli(),
	}
	if !cmd.Created.IsZero() {
		v = append(v, cmdFieldCreated, cmd.Created.UnixMilli())
	}
	if cmd.Async {
		v = append(v, cmdFieldAsync, "1")
	}
	return v
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// errBadEntry marks a stream entry that is not a command.
var errBadEntry = errors.New("not a command")

// decodeCommand reads a commands stream entry. Deadline and Created come
// back with millisecond precision.
func decodeCommand(values map[string]any) (openqq.Command, error) {
	str := func(k string) (string, error) {
		switch v := values[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		}
		return "", fmt.Errorf("%w: field %q is not a string", errBadEntry, k)
	}
	var f [6]string
	for i, k := range []string{cmdFieldID, cmdFieldAPI, cmdFieldParams, cmdFieldDeadline, cmdFieldCreated, cmdFieldAsync} {
		var err error
		if f[i], err = str(k); err != nil {
			return openqq.Command{}, err
		}
	}
	cmd := openqq.Command{ID: f[0], API: f[1], Params: map[string]string{}}
	if cmd.ID == "" || len(cmd.ID) > maxCommandIDLen {
		return openqq.Command{}, fmt.Errorf("%w: bad id", errBadEntry)
	}
	if cmd.API == "" {
		return openqq.Command{}, fmt.Errorf("%w: no api", errBadEntry)
	}
	if f[2] != "" {
		if err := json.Unmarshal([]byte(f[2]), &cmd.Params); err != nil {
			return openqq.Command{}, fmt.Errorf("%w: params: %v", errBadEntry, err)
		}
		cmd.Params = nonNilMap(cmd.Params)
	}
	ms, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || ms <= 0 {
		return openqq.Command{}, fmt.Errorf("%w: bad deadline", errBadEntry)
	}
	cmd.Deadline = time.UnixMilli(ms)
	if f[4] != "" {
		ms, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return openqq.Command{}, fmt.Errorf("%w: bad created time", errBadEntry)
		}
		cmd.Created = time.UnixMilli(ms)
	}
	switch f[5] {
	case "", "0":
	case "1":
		cmd.Async = true
	default:
		return openqq.Command{}, fmt.Errorf("%w: bad async flag", errBadEntry)
	}
	return cmd, nil
}
