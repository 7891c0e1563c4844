package connector

import (
	"context"
	"fmt"
	"slices"

	"github.com/openqq-relay/openqq"
)

// refresh reloads the contacts and publishes what changed since the last
// snapshot (spec §21): the periodic refresh, the refresh_contacts command and
// unknown senders all come here. Before the first load there is nothing to
// compare with, and nothing to refresh: ErrClientNotReady.
func (r *Runner) refresh(ctx context.Context) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	old := r.contacts.Load()
	if old == nil {
		return openqq.ErrClientNotReady
	}
	c, err := r.backend.Contacts(ctx)
	if err != nil {
		return fmt.Errorf("connector: refresh contacts: %w", err)
	}
	r.contacts.Store(c)
	events := diffContacts(old, c)
	r.log.DebugContext(ctx, "contacts refreshed", "events", len(events))
	for _, p := range events {
		r.publish(p)
	}
	r.saveSnapshot(c)
	return nil
}

// removeMembers takes kicked members out of the snapshot and posts
// lose_group_member [member, group] for each, the group as it is after the
// kick ([GO] spec §6.10: the original posted the member alone and crashed).
func (r *Runner) removeMembers(groupID openqq.ID, gone []openqq.Member) {
	r.refreshMu.Lock()
	old := r.contacts.Load()
	if old == nil {
		r.refreshMu.Unlock()
		return
	}
	c := *old
	c.Groups = slices.Clone(old.Groups)
	i := slices.IndexFunc(c.Groups, func(g openqq.Group) bool { return g.ID == groupID })
	if i < 0 {
		r.refreshMu.Unlock()
		return
	}
	g := &c.Groups[i]
	g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m openqq.Member) bool {
		return slices.ContainsFunc(gone, func(x openqq.Member) bool { return x.ID == m.ID })
	})
	r.contacts.Store(&c)
	r.saveSnapshot(&c)
	group := *g
	r.refreshMu.Unlock()
	for _, m := range gone {
		r.publish(openqq.NewEventPost(openqq.EventLoseGroupMember, m, group))
	}
}

// saveSnapshot queues the snapshot for the relay's read endpoints.
func (r *Runner) saveSnapshot(c *openqq.Contacts) {
	r.sessionWrite("contacts", "save contacts", func(ctx context.Context) error {
		return r.db.SaveContacts(ctx, r.account, c)
	})
}
