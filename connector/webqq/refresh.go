package webqq

import (
	"context"
	"fmt"

	"github.com/openqq-relay/openqq"
)

// The client's contacts are copy-on-write: c.sess.contacts is never
// modified in place, so a reader may keep the pointer it got.

// contacts returns the current contacts (read-only), nil before any load.
func (c *Client) contacts() *openqq.Contacts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.contacts
}

// editContacts applies f to a shallow copy of the contacts and installs
// it. f must replace, never modify, any slice it changes, and do no I/O.
func (c *Client) editContacts(f func(ct *openqq.Contacts)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess.contacts == nil {
		return
	}
	n := *c.sess.contacts
	f(&n)
	c.sess.contacts = &n
}

func (c *Client) me() self {
	c.mu.Lock()
	defer c.mu.Unlock()
	me := self{uid: c.sess.uid}
	if c.sess.contacts != nil {
		me.id = c.sess.contacts.User.ID
	}
	return me
}

// refreshFriends reloads the friend list (and its ext uids).
func (c *Client) refreshFriends(ctx context.Context) error {
	s := c.snapshot()
	friends, err := c.loadFriends(ctx, s)
	if err != nil {
		return err
	}
	if s.ext {
		if ef, err := c.extFriends(ctx); err == nil {
			matchFriends(friends, ef)
		} else {
			c.log.WarnContext(ctx, "ext friend list failed", "err", err)
		}
	}
	c.editContacts(func(ct *openqq.Contacts) { ct.Friends = friends })
	return nil
}

// refreshGroups reloads the group list; known groups keep their detail,
// new ones are loaded in full.
func (c *Client) refreshGroups(ctx context.Context) error {
	s := c.snapshot()
	prev := c.contacts()
	if prev == nil {
		return fmt.Errorf("webqq: refresh groups: contacts not loaded")
	}
	r, err := c.groupList(ctx, s)
	if err != nil {
		return err
	}
	me := c.me()
	var fresh []int
	for i := range r {
		if old := prev.Group(r[i].ID); old != nil {
			keep := *old
			keep.Name, keep.Markname, keep.Code = r[i].Name, r[i].Markname, r[i].Code
			r[i] = keep
			continue
		}
		fresh = append(fresh, i)
	}
	parallel(ctx, len(fresh), func(k int) {
		if err := c.loadGroupInfo(ctx, s, &r[fresh[k]]); err != nil {
			c.log.WarnContext(ctx, "group info failed", "group", r[fresh[k]].ID, "err", err)
		}
	})
	if s.ext {
		if eg, err := c.extGroups(ctx); err == nil {
			matchGroups(r, eg, knownUIDs(me, prev))
		}
		for _, i := range fresh {
			c.applyExtMembers(ctx, &r[i], me, prev)
		}
	}
	c.editContacts(func(ct *openqq.Contacts) { ct.Groups = r })
	return nil
}

// refreshGroup reloads one group's detail and members.
func (c *Client) refreshGroup(ctx context.Context, gid openqq.ID) error {
	s := c.snapshot()
	prev := c.contacts()
	if prev == nil || prev.Group(gid) == nil {
		return fmt.Errorf("webqq: refresh group %d: not in the contacts", gid)
	}
	g := *prev.Group(gid)
	g.Members = nil
	if err := c.loadGroupInfo(ctx, s, &g); err != nil {
		return err
	}
	if s.ext {
		c.applyExtMembers(ctx, &g, c.me(), prev)
	}
	c.editContacts(func(ct *openqq.Contacts) {
		gs := make([]openqq.Group, len(ct.Groups))
		copy(gs, ct.Groups)
		for i := range gs {
			if gs[i].ID == gid {
				gs[i] = g
			}
		}
		ct.Groups = gs
	})
	return nil
}

// refreshDiscusses reloads the discussion list; new ones are loaded in full.
func (c *Client) refreshDiscusses(ctx context.Context) error {
	s := c.snapshot()
	prev := c.contacts()
	if prev == nil {
		return fmt.Errorf("webqq: refresh discussions: contacts not loaded")
	}
	resp, err := c.do(ctx, discussListCall(s))
	if err != nil {
		return err
	}
	ds, err := decodeDiscussList(resp.body)
	if err != nil {
		return err
	}
	var fresh []int
	for i := range ds {
		if old := prev.Discuss(ds[i].ID); old != nil {
			name := ds[i].Name
			ds[i] = *old
			ds[i].Name = name
			continue
		}
		fresh = append(fresh, i)
	}
	parallel(ctx, len(fresh), func(k int) {
		if err := c.loadDiscussInfo(ctx, s, &ds[fresh[k]]); err != nil {
			c.log.WarnContext(ctx, "discussion info failed", "discuss", ds[fresh[k]].ID, "err", err)
		}
	})
	c.editContacts(func(ct *openqq.Contacts) { ct.Discusses = ds })
	return nil
}

// refreshDiscuss reloads one discussion's members.
func (c *Client) refreshDiscuss(ctx context.Context, did openqq.ID) error {
	s := c.snapshot()
	prev := c.contacts()
	if prev == nil || prev.Discuss(did) == nil {
		return fmt.Errorf("webqq: refresh discussion %d: not in the contacts", did)
	}
	d := *prev.Discuss(did)
	if err := c.loadDiscussInfo(ctx, s, &d); err != nil {
		return err
	}
	c.editContacts(func(ct *openqq.Contacts) {
		ds := make([]openqq.Discuss, len(ct.Discusses))
		copy(ds, ct.Discusses)
		for i := range ds {
			if ds[i].ID == did {
				ds[i] = d
			}
		}
		ct.Discusses = ds
	})
	return nil
}
