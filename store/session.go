package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// AddAccount records acct among the known accounts.
func (db *DB) AddAccount(ctx context.Context, acct string) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: add account: %w", err)
	}
	if err := db.short.SAdd(ctx, accountsKey, acct).Err(); err != nil {
		return fmt.Errorf("store: add account: %w", err)
	}
	return nil
}

// Accounts lists the known accounts, sorted.
func (db *DB) Accounts(ctx context.Context) ([]string, error) {
	accts, err := db.short.SMembers(ctx, accountsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	slices.Sort(accts)
	return accts, nil
}

// SaveCookies stores the account's cookie jar, replacing the previous one.
func (db *DB) SaveCookies(ctx context.Context, acct string, jar []byte) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: save cookies: %w", err)
	}
	if err := db.short.Set(ctx, cookiesKey(acct), jar, 0).Err(); err != nil {
		return fmt.Errorf("store: save cookies: %w", err)
	}
	return nil
}

// Cookies returns the saved cookie jar, or nil (and no error) when none.
func (db *DB) Cookies(ctx context.Context, acct string) ([]byte, error) {
	return db.getBytes(ctx, "cookies", acct, cookiesKey)
}

// DeleteCookies forgets the cookie jar, so the next login scans a QR code.
func (db *DB) DeleteCookies(ctx context.Context, acct string) error {
	return db.del(ctx, "delete cookies", acct, cookiesKey)
}

// SetQRCode stores the QR code to scan; it disappears after ttl (never, when
// ttl ≤ 0).
func (db *DB) SetQRCode(ctx context.Context, acct string, png []byte, ttl time.Duration) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: set qrcode: %w", err)
	}
	if err := db.short.Set(ctx, qrcodeKey(acct), png, max(ttl, 0)).Err(); err != nil {
		return fmt.Errorf("store: set qrcode: %w", err)
	}
	return nil
}

// QRCode returns the current QR code image, or nil (and no error) when none.
func (db *DB) QRCode(ctx context.Context, acct string) ([]byte, error) {
	return db.getBytes(ctx, "qrcode", acct, qrcodeKey)
}

// DeleteQRCode removes the QR code (after login, on stop).
func (db *DB) DeleteQRCode(ctx context.Context, acct string) error {
	return db.del(ctx, "delete qrcode", acct, qrcodeKey)
}

func (db *DB) getBytes(ctx context.Context, op, acct string, key func(string) string) ([]byte, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	b, err := db.short.Get(ctx, key(acct)).Bytes()
	if isNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return b, nil
}

func (db *DB) del(ctx context.Context, op, acct string, key func(string) string) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := db.short.Del(ctx, key(acct)).Err(); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// State is the connector's record of one account (the original's state file,
// spec §2), kept in the hash stateKey.
type State struct {
	Account   string             `json:"account"`
	State     openqq.ClientState `json:"state"`
	Previous  openqq.ClientState `json:"previous_state"`
	PID       int                `json:"pid"`
	Host      string             `json:"host"`
	OS        string             `json:"os"`
	Version   string             `json:"version"`
	StartTime time.Time          `json:"start_time"`
	LoginTime time.Time          `json:"login_time"`
	LastPoll  time.Time          `json:"last_poll"`
	Heartbeat time.Time          `json:"heartbeat"` // liveness: written by Heartbeat
	Owner     string             `json:"owner"`     // the lease owner that wrote it
}

// Fields of the state hash. Times are RFC 3339 with nanoseconds, "" for zero.
const (
	fieldAccount   = "account"
	fieldState     = "state"
	fieldPrevious  = "previous_state"
	fieldPID       = "pid"
	fieldHost      = "host"
	fieldOS        = "os"
	fieldVersion   = "version"
	fieldStartTime = "start_time"
	fieldLoginTime = "login_time"
	fieldLastPoll  = "last_poll"
	fieldHeartbeat = "heartbeat"
	fieldOwner     = "owner"
)

// SetState writes the whole record in one HSET. Previous is the caller's.
// A zero Heartbeat leaves the stored one alone: the heartbeat has its own
// writer (Heartbeat), which a state change must not reset.
func (db *DB) SetState(ctx context.Context, acct string, st State) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: set state: %w", err)
	}
	st.Account = acct
	fields := []any{
		fieldAccount, st.Account,
		fieldState, string(st.State),
		fieldPrevious, string(st.Previous),
		fieldPID, strconv.Itoa(st.PID),
		fieldHost, st.Host,
		fieldOS, st.OS,
		fieldVersion, st.Version,
		fieldStartTime, formatTime(st.StartTime),
		fieldLoginTime, formatTime(st.LoginTime),
		fieldLastPoll, formatTime(st.LastPoll),
		fieldOwner, st.Owner,
	}
	if !st.Heartbeat.IsZero() {
		fields = append(fields, fieldHeartbeat, formatTime(st.Heartbeat))
	}
	if err := db.short.HSet(ctx, stateKey(acct), fields...).Err(); err != nil {
		return fmt.Errorf("store: set state: %w", err)
	}
	return nil
}

// State reads the record; a zero State and no error when there is none.
func (db *DB) State(ctx context.Context, acct string) (State, error) {
	if err := checkAccount(acct); err != nil {
		return State{}, fmt.Errorf("store: state: %w", err)
	}
	h, err := db.short.HGetAll(ctx, stateKey(acct)).Result()
	if err != nil {
		return State{}, fmt.Errorf("store: state: %w", err)
	}
	return parseState(h)
}

// StateAndContactsVersion reads State and ContactsVersion in one round
// trip: what a relay checks before it queues a write.
func (db *DB) StateAndContactsVersion(ctx context.Context, acct string) (State, int64, error) {
	if err := checkAccount(acct); err != nil {
		return State{}, 0, fmt.Errorf("store: state: %w", err)
	}
	var (
		state *redis.MapStringStringCmd
		ver   *redis.StringCmd
	)
	_, err := db.short.Pipelined(ctx, func(p redis.Pipeliner) error {
		state = p.HGetAll(ctx, stateKey(acct))
		ver = p.Get(ctx, contactsVersionKey(acct))
		return nil
	})
	if err != nil && !isNil(err) {
		return State{}, 0, fmt.Errorf("store: state: %w", err)
	}
	st, err := parseState(state.Val())
	if err != nil {
		return State{}, 0, err
	}
	v, err := ver.Int64()
	if err != nil && !isNil(err) {
		return State{}, 0, fmt.Errorf("store: contacts version: %w", err)
	}
	return st, v, nil
}

// parseState reads a state record (HGETALL); none is the zero State.
func parseState(h map[string]string) (State, error) {
	if len(h) == 0 {
		return State{}, nil
	}
	st := State{
		Account:  h[fieldAccount],
		State:    openqq.ClientState(h[fieldState]),
		Previous: openqq.ClientState(h[fieldPrevious]),
		Host:     h[fieldHost],
		OS:       h[fieldOS],
		Version:  h[fieldVersion],
		Owner:    h[fieldOwner],
	}
	var errs [5]error
	if p := h[fieldPID]; p != "" {
		st.PID, errs[0] = strconv.Atoi(p)
	}
	st.StartTime, errs[1] = parseTime(h[fieldStartTime])
	st.LoginTime, errs[2] = parseTime(h[fieldLoginTime])
	st.LastPoll, errs[3] = parseTime(h[fieldLastPoll])
	st.Heartbeat, errs[4] = parseTime(h[fieldHeartbeat])
	for _, err := range errs {
		if err != nil {
			return State{}, fmt.Errorf("store: state: corrupt record: %w", err)
		}
	}
	return st, nil
}

// Heartbeat records that the connector is alive at at; the relay reads it
// as State.Heartbeat.
func (db *DB) Heartbeat(ctx context.Context, acct string, at time.Time) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: heartbeat: %w", err)
	}
	if err := db.short.HSet(ctx, stateKey(acct), fieldHeartbeat, formatTime(at)).Err(); err != nil {
		return fmt.Errorf("store: heartbeat: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
