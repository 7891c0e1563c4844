package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// SaveContacts replaces the account's contact snapshot. The four parts go
// under their own keys, written in one MULTI so that readers never see a
// user from one load with friends from another.
func (db *DB) SaveContacts(ctx context.Context, acct string, c *openqq.Contacts) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: save contacts: %w", err)
	}
	if c == nil {
		return fmt.Errorf("store: save contacts: %w: nil contacts", ErrInvalid)
	}
	parts := []struct {
		key string
		v   any
	}{
		{userKey(acct), c.User},
		{friendsKey(acct), nonNil(c.Friends)},
		{groupsKey(acct), nonNil(c.Groups)},
		{discussesKey(acct), nonNil(c.Discusses)},
	}
	enc := make([][]byte, len(parts))
	for i, p := range parts {
		b, err := json.Marshal(p.v)
		if err != nil {
			return fmt.Errorf("store: save contacts: %w", err)
		}
		enc[i] = b
	}
	_, err := db.short.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, part := range parts {
			p.Set(ctx, part.key, enc[i], 0)
		}
		p.Incr(ctx, contactsVersionKey(acct))
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save contacts: %w", err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ContactsVersion is the number of snapshots written so far for the account
// (0 before the first SaveContacts). It changes in the same MULTI as the
// snapshot, so a reader that saw version v and then read the snapshot has
// data at least as new as v.
func (db *DB) ContactsVersion(ctx context.Context, acct string) (int64, error) {
	if err := checkAccount(acct); err != nil {
		return 0, fmt.Errorf("store: contacts version: %w", err)
	}
	v, err := db.short.Get(ctx, contactsVersionKey(acct)).Int64()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: contacts version: %w", err)
	}
	return v, nil
}

// Contacts reads the whole snapshot (one MGET); ErrNotFound before the
// first SaveContacts.
func (db *DB) Contacts(ctx context.Context, acct string) (*openqq.Contacts, error) {
	if err := checkAccount(acct); err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	vals, err := db.short.MGet(ctx, userKey(acct), friendsKey(acct), groupsKey(acct), discussesKey(acct)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	for _, v := range vals {
		if v == nil {
			return nil, fmt.Errorf("store: contacts: %w", ErrNotFound)
		}
	}
	c := &openqq.Contacts{}
	dst := []any{&c.User, &c.Friends, &c.Groups, &c.Discusses}
	for i, v := range vals {
		s, _ := v.(string)
		if err := json.Unmarshal([]byte(s), dst[i]); err != nil {
			return nil, fmt.Errorf("store: contacts: corrupt snapshot: %w", err)
		}
	}
	c.Friends, c.Groups, c.Discusses = nonNil(c.Friends), nonNil(c.Groups), nonNil(c.Discusses)
	return c, nil
}

// User reads the user part of the snapshot; ErrNotFound when none.
func (db *DB) User(ctx context.Context, acct string) (*openqq.User, error) {
	var u openqq.User
	if err := db.getJSON(ctx, "user", acct, userKey, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Friends reads the friend list of the snapshot; ErrNotFound when none.
func (db *DB) Friends(ctx context.Context, acct string) ([]openqq.Friend, error) {
	var fs []openqq.Friend
	if err := db.getJSON(ctx, "friends", acct, friendsKey, &fs); err != nil {
		return nil, err
	}
	return nonNil(fs), nil
}

// Groups reads the groups (with members) of the snapshot; ErrNotFound when
// none.
func (db *DB) Groups(ctx context.Context, acct string) ([]openqq.Group, error) {
	var gs []openqq.Group
	if err := db.getJSON(ctx, "groups", acct, groupsKey, &gs); err != nil {
		return nil, err
	}
	return nonNil(gs), nil
}

// Discusses reads the discussion groups of the snapshot; ErrNotFound when
// none.
func (db *DB) Discusses(ctx context.Context, acct string) ([]openqq.Discuss, error) {
	var ds []openqq.Discuss
	if err := db.getJSON(ctx, "discusses", acct, discussesKey, &ds); err != nil {
		return nil, err
	}
	return nonNil(ds), nil
}

func (db *DB) getJSON(ctx context.Context, op, acct string, key func(string) string, v any) error {
	if err := checkAccount(acct); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	b, err := db.short.Get(ctx, key(acct)).Bytes()
	if isNil(err) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("store: %s: corrupt snapshot: %w", op, err)
	}
	return nil
}
