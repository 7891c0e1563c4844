package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

// Submit queues cmd for the account's connector and waits for its result
// until cmd.Deadline (the XADD and the first BLPOP share one round trip).
//
//   - openqq.ErrTimeout: the command never ran and never will. At the
//     deadline Submit deletes the entry if no connector has read it, in the
//     same script that checks so.
//   - openqq.ErrOutcomeUnknown: a connector had read it (from then on it may
//     run) and no result came within ReplyGrace after the deadline, or its
//     connector answered so after a crash; or the XADD itself failed in a way
//     that leaves open whether it was queued.
//
// A missing cmd.ID is generated and a zero Created set to now. An id the
// caller gives is an idempotency key: while a command of that id is known
// (until its deadline and a minute more), another one is not queued, and
// Submit waits for the first one's result. cmd.Deadline must be set; it is
// moved earlier when ctx ends sooner, leaving room for the grace and the
// final round trip, so that Submit always answers before ctx ends. When ctx
// is cancelled Submit deletes the command unless a connector read it, and
// returns the context's error.
func (db *DB) Submit(ctx context.Context, acct string, cmd *openqq.Command) (openqq.Result, error) {
	keyed := cmd != nil && cmd.ID != ""
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
	var sid string
	var pop *redis.Cmd
	if keyed {
		var err error
		if sid, err = db.enqueueOnce(ctx, acct, cmd); err != nil {
			return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
		}
	} else {
		pipe := db.block.Pipeline()
		add := db.queueCommand(ctx, pipe, acct, cmd)
		pop = pipe.Do(ctx, "BLPOP", reply, blockSeconds(min(cmd.Deadline.Sub(now), time.Second)))
		_, _ = pipe.Exec(ctx) // errors are per command, read below
		var err error
		if sid, err = add.Result(); err != nil {
			if unsent(err) {
				return openqq.Result{}, fmt.Errorf("store: submit: xadd command: %w", err)
			}
			// It may have been queued: wait for a result, and at the
			// deadline answer "outcome unknown" (sid stays "").
			db.log.WarnContext(ctx, "queueing a command failed; waiting for its result in case it was queued",
				openqq.LogKeyAccount, acct, openqq.LogKeyCommandID, cmd.ID, openqq.LogKeyErr, err)
			sid, pop = "", nil
		}
	}
	for {
		if pop != nil {
			res, ok, err := popResult(pop)
			switch {
			case ok:
				return res, nil
			case ctx.Err() != nil:
				db.abandon(ctx, acct, cmd.ID, sid)
				return openqq.Result{}, fmt.Errorf("store: submit: %w", ctx.Err())
			case err != nil && sid != "":
				return openqq.Result{}, fmt.Errorf("store: submit: %w", err)
			case err != nil:
				if !sleep(ctx, 100*time.Millisecond) {
					continue // ctx ended: the next turn abandons
				}
			}
		}
		remaining := cmd.Deadline.Sub(db.now())
		if remaining <= 0 {
			break
		}
		pop = db.block.Do(ctx, "BLPOP", reply, blockSeconds(min(remaining, maxBlock)))
	}
	return db.expire(ctx, acct, cmd.ID, sid)
}

// Enqueue queues cmd with nobody waiting for its result (Openqq async=1).
// The connector runs it once, unless its deadline passes first. An id the
// caller gives is an idempotency key, as in Submit: a second command of the
// same id is not queued (and Enqueue returns nil).
func (db *DB) Enqueue(ctx context.Context, acct string, cmd *openqq.Command) error {
	keyed := cmd != nil && cmd.ID != ""
	if err := db.prepare(acct, cmd); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	cmd.Async = true
	if !cmd.Deadline.After(db.now()) {
		return fmt.Errorf("store: enqueue: %w", openqq.ErrTimeout)
	}
	if keyed {
		if _, err := db.enqueueOnce(ctx, acct, cmd); err != nil {
			return fmt.Errorf("store: enqueue: %w", err)
		}
		return nil
	}
	pipe := db.short.Pipeline()
	add := db.queueCommand(ctx, pipe, acct, cmd)
	_, _ = pipe.Exec(ctx)
	if err := add.Err(); err != nil {
		if !unsent(err) {
			return fmt.Errorf("store: enqueue: xadd command: %w: %w", openqq.ErrOutcomeUnknown, err)
		}
		return fmt.Errorf("store: enqueue: xadd command: %w", err)
	}
	return nil
}

// queueCommand adds cmd's XADD to p, never retried: go-redis retries a
// pipeline after a connection error, and a second XADD would queue the
// command twice. The XADD answers the entry's stream id.
func (db *DB) queueCommand(ctx context.Context, p redis.Pipeliner, acct string, cmd *openqq.Command) *redis.StringCmd {
	add := redis.NewStringCmd(ctx, db.xaddArgs(acct, cmd)...)
	_ = p.Process(ctx, onceCmd{add})
	return add
}

// xaddArgs is the XADD of cmd to the account's commands stream.
func (db *DB) xaddArgs(acct string, cmd *openqq.Command) []any {
	fields := encodeCommand(cmd)
	args := make([]any, 0, 6+len(fields))
	args = append(args, "XADD", commandsKey(acct))
	if db.commandsMaxLen > 0 {
		args = append(args, "MAXLEN", "~", db.commandsMaxLen)
	}
	args = append(args, "*")
	return append(args, fields...)
}

// onceCmd is a command go-redis must not retry.
type onceCmd struct{ *redis.StringCmd }

func (onceCmd) NoRetry() bool { return true }

// unsent tells the errors of a call that surely never reached Redis (no
// connection, or Redis refused it) from those that leave it open.
func unsent(err error) bool {
	if _, ok := errors.AsType[redis.Error](err); ok {
		return true // Redis answered: an error reply changes nothing
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return true
	}
	return errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed)
}

// enqueueOnceScript queues a command whose id is an idempotency key: only
// when no marker of that id exists, and then sets it (the entry's stream id,
// until the deadline and a slack) and clears a stale reply of the id.
//
// KEYS[1] done:{id}  KEYS[2] reply:{id}  KEYS[3] the commands stream
// ARGV[1] marker TTL in ms  ARGV[2] MAXLEN (0: none)  ARGV[3…] the entry's fields
// Returns the new entry's stream id, or the marker of the command queued
// before under that id.
var enqueueOnceScript = redis.NewScript(`
local m = redis.call('GET', KEYS[1])
if m then return m end
redis.call('DEL', KEYS[2])
local sid
if tonumber(ARGV[2]) > 0 then
	sid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
	sid = redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[1], sid, 'PX', ARGV[1])
return sid
`)

// enqueueOnce queues cmd unless its id is taken, and returns the stream id
// of the command that now holds the id.
func (db *DB) enqueueOnce(ctx context.Context, acct string, cmd *openqq.Command) (string, error) {
	ttl := min(max(cmd.Deadline.Sub(db.now()), 0), maxCommandTTL) + markerSlack
	args := append([]any{ttl.Milliseconds(), db.commandsMaxLen}, encodeCommand(cmd)...)
	sid, err := enqueueOnceScript.Run(ctx, db.short,
		[]string{markerKey(acct, cmd.ID), replyKey(acct, cmd.ID), commandsKey(acct)}, args...).Text()
	if err != nil {
		return "", fmt.Errorf("queue command %s: %w", cmd.ID, err)
	}
	return sid, nil
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
// KEYS[1] reply:{id}  KEYS[2] the commands stream
// ARGV[1] group  ARGV[2] the command's stream id ("" when unknown)
// Returns {1, result}: the reply had come after all (popped);
// {0}: no connector had read it, and now none will (the entry is deleted);
// {2}: a connector had read it (or it is unknown whether it was queued),
// and its result may still come.
//
// The group hands out entries in order, so an entry was read exactly when
// its id is not after the group's last-delivered-id.
var expireCommandScript = redis.NewScript(`
local r = redis.call('LPOP', KEYS[1])
if r then return {1, r} end
if ARGV[2] == '' then return {2} end
local function parse(id)
	local ms, seq = string.match(id, '^(%d+)-(%d+)$')
	return tonumber(ms), tonumber(seq)
end
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[2])
if type(groups) == 'table' and not groups.err then
	for _, g in ipairs(groups) do
		local f = {}
		for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
		if f['name'] == ARGV[1] then
			local ms, seq = parse(ARGV[2])
			local lms, lseq = parse(f['last-delivered-id'])
			if ms and lms and (ms < lms or (ms == lms and seq <= lseq)) then return {2} end
		end
	end
end
redis.call('XDEL', KEYS[2], ARGV[2])
return {0}
`)

// expire runs at the deadline: ErrTimeout when no connector had read the
// command, else a last wait of ReplyGrace for its result.
func (db *DB) expire(ctx context.Context, acct, id, sid string) (openqq.Result, error) {
	v, err := expireCommandScript.Run(ctx, db.short,
		[]string{replyKey(acct, id), commandsKey(acct)}, connectorGroup, sid).Slice()
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
func (db *DB) abandon(ctx context.Context, acct, id, sid string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	err := expireCommandScript.Run(ctx, db.short,
		[]string{replyKey(acct, id), commandsKey(acct)}, connectorGroup, sid).Err()
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

// sleep waits d or until ctx ends, and reports whether it slept the whole d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
