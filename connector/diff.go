package connector

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/openqq-relay/openqq"
)

// diffContacts returns the events that turn the snapshot old into cur, in a
// stable order: friends, groups (with their members), then discussions; for
// each, losses, then arrivals, then property changes (spec §3, §21). The
// refresh is the only way the original noticed these changes, and so is ours.
func diffContacts(old, cur *openqq.Contacts) []openqq.Post {
	var out []openqq.Post
	out = append(out, diffFriends(old.Friends, cur.Friends)...)
	out = append(out, diffGroups(old.Groups, cur.Groups)...)
	out = append(out, diffDiscusses(old.Discusses, cur.Discusses)...)
	return out
}

func diffFriends(old, cur []openqq.Friend) []openqq.Post {
	var out []openqq.Post
	before := indexBy(old, func(f openqq.Friend) openqq.ID { return f.ID })
	after := indexBy(cur, func(f openqq.Friend) openqq.ID { return f.ID })
	for _, f := range old {
		if _, ok := after[f.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventLoseFriend, f))
		}
	}
	for _, f := range cur {
		if _, ok := before[f.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventNewFriend, f))
		}
	}
	for _, f := range cur {
		if o, ok := before[f.ID]; ok {
			for _, c := range propertyChanges(o, f) {
				out = append(out, openqq.NewEventPost(openqq.EventFriendPropertyChange, f, c.name, c.old, c.new))
			}
		}
	}
	return out
}

func diffGroups(old, cur []openqq.Group) []openqq.Post {
	var out []openqq.Post
	before := indexBy(old, func(g openqq.Group) openqq.ID { return g.ID })
	after := indexBy(cur, func(g openqq.Group) openqq.ID { return g.ID })
	for _, g := range old {
		if _, ok := after[g.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventLoseGroup, g))
		}
	}
	for _, g := range cur {
		if _, ok := before[g.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventNewGroup, g))
		}
	}
	for _, g := range cur {
		o, ok := before[g.ID]
		if !ok {
			continue
		}
		for _, c := range propertyChanges(o, g) {
			out = append(out, openqq.NewEventPost(openqq.EventGroupPropertyChange, g, c.name, c.old, c.new))
		}
		out = append(out, diffMembers(o, g)...)
	}
	return out
}

// diffMembers compares the members of one group. A side without members has
// not loaded them (the account itself is always a member), so nothing is
// compared then rather than reporting everybody as new or gone. Both kinds
// of member event carry the group as it is now (spec §8.2: [member, group]).
func diffMembers(old, cur openqq.Group) []openqq.Post {
	if len(old.Members) == 0 || len(cur.Members) == 0 {
		return nil
	}
	var out []openqq.Post
	for _, m := range old.Members {
		if cur.Member(m.ID) == nil {
			out = append(out, openqq.NewEventPost(openqq.EventLoseGroupMember, m, cur))
		}
	}
	for _, m := range cur.Members {
		if old.Member(m.ID) == nil {
			out = append(out, openqq.NewEventPost(openqq.EventNewGroupMember, m, cur))
		}
	}
	for _, m := range cur.Members {
		if o := old.Member(m.ID); o != nil {
			for _, c := range propertyChanges(*o, m) {
				out = append(out, openqq.NewEventPost(openqq.EventGroupMemberPropertyChange, m, c.name, c.old, c.new))
			}
		}
	}
	return out
}

// diffDiscusses reports discussions and their members arriving and leaving.
// Discussion member events carry the member only, the original's wire format
// (spec §8.2 [QUIRK]); discussion property changes were never posted.
func diffDiscusses(old, cur []openqq.Discuss) []openqq.Post {
	var out []openqq.Post
	before := indexBy(old, func(d openqq.Discuss) openqq.ID { return d.ID })
	after := indexBy(cur, func(d openqq.Discuss) openqq.ID { return d.ID })
	for _, d := range old {
		if _, ok := after[d.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventLoseDiscuss, d))
		}
	}
	for _, d := range cur {
		if _, ok := before[d.ID]; !ok {
			out = append(out, openqq.NewEventPost(openqq.EventNewDiscuss, d))
		}
	}
	for _, d := range cur {
		o, ok := before[d.ID]
		if !ok || len(o.Members) == 0 || len(d.Members) == 0 {
			continue
		}
		for _, m := range o.Members {
			if d.Member(m.ID) == nil {
				out = append(out, openqq.NewEventPost(openqq.EventLoseDiscussMember, m))
			}
		}
		for _, m := range d.Members {
			if o.Member(m.ID) == nil {
				out = append(out, openqq.NewEventPost(openqq.EventNewDiscussMember, m))
			}
		}
	}
	return out
}

func indexBy[T any](list []T, key func(T) openqq.ID) map[openqq.ID]T {
	m := make(map[openqq.ID]T, len(list))
	for _, v := range list {
		m[key(v)] = v
	}
	return m
}

// change is one property that differs between two versions of an object,
// with both values in their wire form.
type change struct {
	name     string
	old, new json.RawMessage
}

// propertyChanges compares two versions of a contact by their JSON fields,
// which are exactly the properties the API shows. The id identifies the
// object and members are diffed on their own, so neither counts.
func propertyChanges(old, cur any) []change {
	a, b := fields(old), fields(cur)
	names := make([]string, 0, len(b))
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var out []change
	for _, k := range names {
		if k == "id" || k == "member" {
			continue
		}
		o, n := orNull(a[k]), orNull(b[k])
		if !bytes.Equal(o, n) {
			out = append(out, change{name: k, old: o, new: n})
		}
	}
	return out
}

// fields returns the JSON object form of a contact. The contact types always
// encode, so an error cannot happen and yields no fields.
func fields(v any) map[string]json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}
