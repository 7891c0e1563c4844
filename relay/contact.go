package relay

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/openqq-relay/openqq"
)

// contacts loads the account's contact snapshot. Before the first login
// there is none, and the connector is not ready. The decoded snapshot is
// kept and shared (read-only) by requests until the store's version of it
// moves: one small GET instead of fetching and decoding every contact.
func (h *Handler) contacts(r *http.Request) (*openqq.Contacts, error) {
	ctx, acct := r.Context(), accountOf(r)
	v, err := h.store.ContactsVersion(ctx, acct)
	if err != nil {
		return nil, fmt.Errorf("relay: contacts: %w", err)
	}
	if c := h.snapshots.get(acct, v); c != nil {
		return c, nil
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
	h.snapshots.put(acct, v, c)
	return c, nil
}

// snapshotCache keeps one decoded snapshot per account.
type snapshotCache struct {
	mu sync.Mutex // guards m
	m  map[string]snapshot
}

type snapshot struct {
	version  int64
	contacts *openqq.Contacts
}

// get returns the account's snapshot at version v, or nil. Version 0 means
// no snapshot was ever versioned: never cached.
func (s *snapshotCache) get(acct string, v int64) *openqq.Contacts {
	if v == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[acct]; ok && e.version == v {
		return e.contacts
	}
	return nil
}

func (s *snapshotCache) put(acct string, v int64, c *openqq.Contacts) {
	if v == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]snapshot{}
	}
	s.m[acct] = snapshot{version: v, contacts: c}
}

// The information endpoints (spec §6.4) answer from the snapshot, without a
// round trip to the connector, as the original answered from memory.

func (h *Handler) getUserInfo(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, c.User)
}

func (h *Handler) getFriendInfo(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, nonNil(c.Friends))
}

func (h *Handler) getGroupInfo(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, nonNil(c.Groups))
}

func (h *Handler) getGroupBasicInfo(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]openqq.Group, len(c.Groups))
	for i, g := range c.Groups {
		out[i] = g.Basic()
	}
	h.writeJSON(w, r, out)
}

func (h *Handler) getDiscussInfo(w http.ResponseWriter, r *http.Request) {
	c, err := h.contacts(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, discusses(c.Discusses))
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
