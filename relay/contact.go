package relay

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/openqq-relay/openqq"
)

// contacts loads the account's contact snapshot. Before the first login
// there is none, and the connector is not ready.
func (h *Handler) contacts(r *http.Request) (*openqq.Contacts, error) {
	s, err := h.snapshot(r)
	if err != nil {
		return nil, err
	}
	return s.contacts, nil
}

// snapshot returns the account's decoded snapshot. It is kept and shared
// (read-only) by requests until the store's version of it moves: one small
// GET instead of fetching and decoding every contact.
func (h *Handler) snapshot(r *http.Request) (*snapshot, error) {
	ctx, acct := r.Context(), accountOf(r)
	var v int64
	if pre := infoOf(r).pre; pre != nil {
		v = pre.contacts
	} else {
		var err error
		if v, err = h.store.ContactsVersion(ctx, acct); err != nil {
			return nil, fmt.Errorf("relay: contacts: %w", err)
		}
	}
	if s := h.snapshots.get(acct, v); s != nil {
		return s, nil
	}
	c, err := h.store.Contacts(ctx, acct)
	if isNotFound(err) || (err == nil && c == nil) {
		return nil, openqq.ErrClientNotReady
	}
	if err != nil {
		return nil, fmt.Errorf("relay: contacts: %w", err)
	}
	// The version was read first and moves in the same MULTI as the
	// snapshot, so c is at least as new as v: a newer c under v is only
	// refetched once more.
	s := &snapshot{version: v, contacts: c}
	h.snapshots.put(acct, s)
	return s, nil
}

// snapshotCache keeps one decoded snapshot per account.
type snapshotCache struct {
	mu sync.Mutex // guards m
	m  map[string]*snapshot
}

// snapshot is one version of an account's contacts, with the answers
// rendered from it so far.
type snapshot struct {
	version  int64
	contacts *openqq.Contacts

	mu     sync.Mutex // guards bodies
	bodies map[string][]byte
}

// get returns the account's snapshot at version v, or nil. Version 0 means
// no snapshot was ever versioned: never cached.
func (c *snapshotCache) get(acct string, v int64) *snapshot {
	if v == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[acct]; ok && s.version == v {
		return s
	}
	return nil
}

func (c *snapshotCache) put(acct string, s *snapshot) {
	if s.version == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*snapshot{}
	}
	c.m[acct] = s
}

// body renders one answer of the snapshot once: the information endpoints
// answer the same bytes until the contacts change.
func (s *snapshot) body(name string, pick func(*openqq.Contacts) any) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bodies[name]; ok {
		return b, nil
	}
	b, err := encodeJSON(pick(s.contacts))
	if err != nil {
		return nil, err
	}
	if s.bodies == nil {
		s.bodies = map[string][]byte{}
	}
	s.bodies[name] = b
	return b, nil
}

// The information endpoints (spec §6.4) answer from the snapshot, without a
// round trip to the connector, as the original answered from memory.

// writeSnapshot answers one rendering of the snapshot.
func (h *Handler) writeSnapshot(w http.ResponseWriter, r *http.Request, name string, pick func(*openqq.Contacts) any) {
	s, err := h.snapshot(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	b, err := s.body(name, pick)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	infoOf(r).code = "0"
	h.writeBody(w, r, http.StatusOK, b)
}

func (h *Handler) getUserInfo(w http.ResponseWriter, r *http.Request) {
	h.writeSnapshot(w, r, "user", func(c *openqq.Contacts) any { return c.User })
}

func (h *Handler) getFriendInfo(w http.ResponseWriter, r *http.Request) {
	h.writeSnapshot(w, r, "friends", func(c *openqq.Contacts) any { return nonNil(c.Friends) })
}

func (h *Handler) getGroupInfo(w http.ResponseWriter, r *http.Request) {
	h.writeSnapshot(w, r, "groups", func(c *openqq.Contacts) any { return nonNil(c.Groups) })
}

func (h *Handler) getGroupBasicInfo(w http.ResponseWriter, r *http.Request) {
	h.writeSnapshot(w, r, "groups_basic", func(c *openqq.Contacts) any {
		out := make([]openqq.Group, len(c.Groups))
		for i, g := range c.Groups {
			out[i] = g.Basic()
		}
		return out
	})
}

func (h *Handler) getDiscussInfo(w http.ResponseWriter, r *http.Request) {
	h.writeSnapshot(w, r, "discusses", func(c *openqq.Contacts) any { return discusses(c.Discusses) })
}

// searchFriend and searchGroup match every parameter but the reserved ones
// against the contacts, ANDed (spec §6.9); unknown keys are ignored by the
// root search helpers ([GO] fix of the original's HTTP 500).
func (h *Handler) searchFriend(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	found := c.SearchFriends(paramsOf(r).Criteria())
	if len(found) == 0 {
		h.writeError(w, r, openqq.ErrObjectNotFound)
		return
	}
	h.writeJSON(w, r, found)
}

func (h *Handler) searchGroup(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	found := c.SearchGroups(paramsOf(r).Criteria())
	if len(found) == 0 {
		h.writeError(w, r, openqq.ErrObjectNotFound)
		return
	}
	h.writeJSON(w, r, found)
}

// nonNil makes an empty list render as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// discusses gives every discussion a member array, empty if none is known,
// as the original always rendered the member key as an array (spec §4).
func discusses(in []openqq.Discuss) []openqq.Discuss {
	out := make([]openqq.Discuss, len(in))
	for i, d := range in {
		d.Members = nonNil(d.Members)
		out[i] = d
	}
	return out
}
