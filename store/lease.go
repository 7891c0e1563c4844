package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is one owner's hold on an account: the pid file of the original
// (spec §2), made safe for several hosts. Token is a fencing token: it
// strictly increases with every acquisition of the account's lease.
type Lease struct {
	Owner string
	Token int64
}

func (l Lease) value() string { return strconv.FormatInt(l.Token, 10) + ":" + l.Owner }

func parseLease(v string) (Lease, error) {
	t, owner, ok := strings.Cut(v, ":")
	token, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil {
		return Lease{}, fmt.Errorf("corrupt lease %q", v)
	}
	return Lease{Owner: owner, Token: token}, nil
}

// acquireLeaseScript takes the lease when it is free, or renews it when the
// same owner asks again (a restart within the TTL keeps its token).
//
// KEYS[1] lease   KEYS[2] lease_token
// ARGV[1] owner   ARGV[2] ttl (ms)
// Returns {1, token} acquired (or renewed); {0, "<token>:<owner>"} held by
// another owner.
var acquireLeaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
	local sep = string.find(cur, ':', 1, true)
	if sep and string.sub(cur, sep + 1) == ARGV[1] then
		redis.call('PEXPIRE', KEYS[1], ARGV[2])
		return {1, tonumber(string.sub(cur, 1, sep - 1))}
	end
	return {0, cur}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, token}
`)

// AcquireLease takes the account's lease for owner (unique per process, e.g.
// host:pid:random) for ttl; ErrLeaseHeld when another owner holds it.
func (db *DB) AcquireLease(ctx context.Context, acct, owner string, ttl time.Duration) (Lease, error) {
	if err := checkLease(acct, owner, ttl); err != nil {
		return Lease{}, fmt.Errorf("store: acquire lease: %w", err)
	}
	v, err := acquireLeaseScript.Run(ctx, db.short, []string{leaseKey(acct), leaseTokenKey(acct)},
		owner, ttl.Milliseconds()).Slice()
	if err != nil {
		return Lease{}, fmt.Errorf("store: acquire lease: %w", err)
	}
	if ok, _ := v[0].(int64); ok == 0 {
		cur, _ := v[1].(string)
		held, err := parseLease(cur)
		if err != nil {
			return Lease{}, fmt.Errorf("store: acquire lease: %w", err)
		}
		return Lease{}, fmt.Errorf("store: acquire lease: %w (owner %s, token %d)", ErrLeaseHeld, held.Owner, held.Token)
	}
	token, _ := v[1].(int64)
	return Lease{Owner: owner, Token: token}, nil
}

// renewLeaseScript extends the lease only while it is still ours.
//
// KEYS[1] lease
// ARGV[1] "<token>:<owner>"   ARGV[2] ttl (ms)
// Returns 1 renewed, 0 lost (expired or taken over).
var renewLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
return 0
`)

// RenewLease extends l by ttl; ErrLeaseLost when it is no longer held.
func (db *DB) RenewLease(ctx context.Context, acct string, l Lease, ttl time.Duration) error {
	if err := checkLease(acct, l.Owner, ttl); err != nil {
		return fmt.Errorf("store: renew lease: %w", err)
	}
	ok, err := renewLeaseScript.Run(ctx, db.short, []string{leaseKey(acct)}, l.value(), ttl.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("store: renew lease: %w", err)
	}
	if ok == 0 {
		return fmt.Errorf("store: renew lease: %w", ErrLeaseLost)
	}
	return nil
}

// releaseLeaseScript deletes the lease only while it is still ours.
//
// KEYS[1] lease
// ARGV[1] "<token>:<owner>"
// Returns 1 released, 0 not ours (any more).
var releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('DEL', KEYS[1])
	return 1
end
return 0
`)

// ReleaseLease gives l up; ErrLeaseLost when it was no longer held (nothing
// is deleted then).
func (db *DB) ReleaseLease(ctx context.Context, acct string, l Lease) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: release lease: %w", err)
	}
	ok, err := releaseLeaseScript.Run(ctx, db.short, []string{leaseKey(acct)}, l.value()).Int64()
	if err != nil {
		return fmt.Errorf("store: release lease: %w", err)
	}
	if ok == 0 {
		return fmt.Errorf("store: release lease: %w", ErrLeaseLost)
	}
	return nil
}

// LeaseHolder tells who holds the account's lease: "", 0 and no error when
// nobody does.
func (db *DB) LeaseHolder(ctx context.Context, acct string) (owner string, token int64, err error) {
	if err := checkAccount(acct); err != nil {
		return "", 0, fmt.Errorf("store: lease holder: %w", err)
	}
	v, err := db.short.Get(ctx, leaseKey(acct)).Result()
	if isNil(err) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: lease holder: %w", err)
	}
	l, err := parseLease(v)
	if err != nil {
		return "", 0, fmt.Errorf("store: lease holder: %w", err)
	}
	return l.Owner, l.Token, nil
}

func checkLease(acct, owner string, ttl time.Duration) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	if owner == "" {
		return fmt.Errorf("%w: empty lease owner", ErrInvalid)
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: lease ttl under 1ms", ErrInvalid)
	}
	return nil
}
