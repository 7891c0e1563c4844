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

// events collects the posts of one diff.
type events []openqq.Post

func (e *events) add(name string, params ...any) {
	*e = append(*e, openqq.NewEventPost(name, params...))
}

// propertyChanged posts one event per property that differs between o and c.
func (e *events) propertyChanged(name string, o, c any) {
	for _, ch := range propertyChanges(o, c) {
		e.add(name, c, ch.name, ch.old, ch.new)
	}
}

func diffFriends(old, cur []openqq.Friend) []openqq.Post {
	var out events
	diffByID(old, cur, func(f openqq.Friend) openqq.ID { return f.ID },
		func(f openqq.Friend) { out.add(openqq.EventLoseFriend, f) },
		func(f openqq.Friend) { out.add(openqq.EventNewFriend, f) },
		func(o, f openqq.Friend) { out.propertyChanged(openqq.EventFriendPropertyChange, o, f) })
	return out
}

func diffGroups(old, cur []openqq.Group) []openqq.Post {
	var out events
	diffByID(old, cur, func(g openqq.Group) openqq.ID { return g.ID },
		func(g openqq.Group) { out.add(openqq.EventLoseGroup, g) },
		func(g openqq.Group) { out.add(openqq.EventNewGroup, g) },
		func(o, g openqq.Group) {
			out.propertyChanged(openqq.EventGroupPropertyChange, o, g)
			out = append(out, diffMembers(o, g)...)
		})
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
	var out events
	diffByID(old.Members, cur.Members, func(m openqq.Member) openqq.ID { return m.ID },
		func(m openqq.Member) { out.add(openqq.EventLoseGroupMember, m, cur) },
		func(m openqq.Member) { out.add(openqq.EventNewGroupMember, m, cur) },
		func(o, m openqq.Member) { out.propertyChanged(openqq.EventGroupMemberPropertyChange, o, m) })
	return out
}

// diffDiscusses reports discussions and their members arriving and leaving.
// Discussion member events carry the member only, the original's wire format
// (spec §8.2 [QUIRK]); discussion property changes were never posted.
func diffDiscusses(old, cur []openqq.Discuss) []openqq.Post {
	var out events
	diffByID(old, cur, func(d openqq.Discuss) openqq.ID { return d.ID },
		func(d openqq.Discuss) { out.add(openqq.EventLoseDiscuss, d) },
		func(d openqq.Discuss) { out.add(openqq.EventNewDiscuss, d) },
		func(o, d openqq.Discuss) {
			if len(o.Members) == 0 || len(d.Members) == 0 {
				return // a side whose members were not loaded
			}
			diffByID(o.Members, d.Members, func(m openqq.DiscussMember) openqq.ID { return m.ID },
				func(m openqq.DiscussMember) { out.add(openqq.EventLoseDiscussMember, m) },
				func(m openqq.DiscussMember) { out.add(openqq.EventNewDiscussMember, m) },
				func(openqq.DiscussMember, openqq.DiscussMember) {})
		})
	return out
}

// diffByID walks two versions of a list keyed by id in the order the events
// go out: what left, then what came, then each item present in both.
func diffByID[T any](old, cur []T, id func(T) openqq.ID, lost, added func(T), kept func(o, c T)) {
	before, after := indexBy(old, id), indexBy(cur, id)
	for _, v := range old {
		if _, ok := after[id(v)]; !ok {
			lost(v)
		}
	}
	for _, v := range cur {
		if _, ok := before[id(v)]; !ok {
			added(v)
		}
	}
	for _, v := range cur {
		if o, ok := before[id(v)]; ok {
			kept(o, v)
		}
	}
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
