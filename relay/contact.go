package relay

import (
	"fmt"
	"net/http"

	"github.com/openqq-relay/openqq"
)

// contacts loads the account's contact snapshot. Before the first login
// there is none, and the connector is not ready.
func (h *Handler) contacts(r *http.Request) (*openqq.Contacts, error) {
	c, err := h.store.Contacts(r.Context(), accountOf(r))
	if isNotFound(err) || (err == nil && c == nil) {
		return nil, openqq.ErrClientNotReady
	}
	if err != nil {
		return nil, fmt.Errorf("relay: contacts: %w", err)
	}
	return c, nil
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
