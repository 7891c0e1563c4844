package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DeleteAccount removes the account and all its keys (session, contacts,
// streams, buffers, replies, markers, dead letters) but its lease token and
// contacts version counters, so both keep increasing if it comes back.
func (db *DB) DeleteAccount(ctx context.Context, acct string) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: delete account: %w", err)
	}
	// Per-command and per-group keys are found by SCAN on the node that
	// holds the account's slot.
	node := redis.Cmdable(db.short)
	if cc, ok := db.short.(*redis.ClusterClient); ok {
		n, err := cc.MasterForKey(ctx, cookiesKey(acct))
		if err != nil {
			return fmt.Errorf("store: delete account: %w", err)
		}
		node = n
	}
	keys := fixedKeys(acct)
	iter := node.Scan(ctx, 0, globEscape(accountPrefix(acct))+"*", 500).Iterator()
	for iter.Next(ctx) {
		if k := iter.Val(); k != leaseTokenKey(acct) && k != contactsVersionKey(acct) {
			keys = append(keys, k)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("store: delete account: scan: %w", err)
	}
	for lo := 0; lo < len(keys); lo += maxArgsBatch {
		if err := db.short.Del(ctx, keys[lo:min(lo+maxArgsBatch, len(keys))]...).Err(); err != nil {
			return fmt.Errorf("store: delete account: %w", err)
		}
	}
	if err := db.short.SRem(ctx, accountsKey, acct).Err(); err != nil {
		return fmt.Errorf("store: delete account: %w", err)
	}
	return nil
}

// globEscape quotes the characters SCAN MATCH treats as patterns.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
