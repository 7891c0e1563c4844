package openqq

import (
	"strconv"
	"strings"
)

// Search semantics shared by the relay's search endpoints and the
// connector's target lookups (spec §4.6): every known criterion must equal
// the object's value compared as a string (criteria are ANDed); unknown and
// reserved keys are ignored ([GO] fix of the original's HTTP 500); no known
// criterion means no match at all.

// Criteria are search keys and values, e.g. {"uid":"123","name":"小灰"}.
type Criteria map[string]string

// Only returns the criteria restricted to keys, dropping absent ones.
func (c Criteria) Only(keys ...string) Criteria {
	out := Criteria{}
	for _, k := range keys {
		if v, ok := c[k]; ok {
			out[k] = v
		}
	}
	return out
}

func idString(id ID) string { return id.String() }

func intString(n Int) string { return strconv.FormatInt(int64(n), 10) }

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptrIntString(n *Int) string {
	if n == nil {
		return ""
	}
	return intString(*n)
}

// field returns the accessor value of one object for a key, and whether the
// key names an accessor at all.
type fieldFunc func(key string) (string, bool)

// match applies the criteria to one object's accessors.
func match(c Criteria, field fieldFunc) bool {
	known := 0
	for k, v := range c {
		got, ok := field(k)
		if !ok {
			continue
		}
		known++
		if got != v {
			return false
		}
	}
	return known > 0
}

// Field returns the friend's accessor value for a search key (spec §4.6).
func (f *Friend) Field(key string) (string, bool) {
	switch key {
	case "id":
		return idString(f.ID), true
	case "uid", "qq":
		return idString(f.UID), true
	case "name", "nick":
		return f.Name, true
	case "markname":
		return ptrString(f.Markname), true
	case "displayname":
		return f.DisplayName(), true
	case "category":
		return f.Category, true
	case "face":
		return intString(f.Face), true
	case "flag":
		return intString(f.Flag), true
	case "is_vip":
		return ptrIntString(f.IsVip), true
	case "vip_level":
		return ptrIntString(f.VipLevel), true
	case "state":
		return f.State, true
	case "client_type":
		return f.ClientType, true
	}
	return "", false
}

// Field returns the group's accessor value for a search key, including the
// original's aliases (number, gnumber, gid, gcode, gname, gtype).
func (g *Group) Field(key string) (string, bool) {
	switch key {
	case "id", "gid":
		return idString(g.ID), true
	case "uid", "number", "gnumber":
		return idString(g.UID), true
	case "code", "gcode":
		return idString(g.Code), true
	case "name", "gname":
		return g.Name, true
	case "markname":
		return ptrString(g.Markname), true
	case "displayname":
		return g.DisplayName(), true
	case "memo":
		return g.Memo, true
	case "createtime":
		return intString(g.CreateTime), true
	case "level":
		return intString(g.Level), true
	case "owner_id":
		return idString(g.OwnerID), true
	case "owner_uid":
		return idString(g.OwnerUID), true
	case "role", "gtype":
		return g.Role, true
	case "member_count":
		return strconv.Itoa(len(g.Members)), true
	}
	return "", false
}

// Field returns the member's accessor value for a search key.
func (m *Member) Field(key string) (string, bool) {
	switch key {
	case "id":
		return idString(m.ID), true
	case "uid", "qq":
		return idString(m.UID), true
	case "name", "nick":
		return m.Name, true
	case "card":
		return ptrString(m.Card), true
	case "displayname":
		return m.DisplayName(), true
	case "sex":
		return m.Sex, true
	case "country":
		return m.Country, true
	case "province":
		return m.Province, true
	case "city":
		return m.City, true
	case "state":
		return m.State, true
	case "client_type":
		return m.ClientType, true
	case "role":
		return m.Role, true
	}
	return "", false
}

// Field returns the discussion group's accessor value for a search key.
func (d *Discuss) Field(key string) (string, bool) {
	switch key {
	case "id", "did":
		return idString(d.ID), true
	case "name", "displayname":
		return d.Name, true
	case "owner_id":
		return idString(d.OwnerID), true
	}
	return "", false
}

// Field returns the discussion member's accessor value for a search key.
func (m *DiscussMember) Field(key string) (string, bool) {
	switch key {
	case "id":
		return idString(m.ID), true
	case "uid", "qq":
		return idString(m.UID), true
	case "name", "nick", "displayname":
		return m.Name, true
	case "state":
		return m.State, true
	case "client_type":
		return m.ClientType, true
	}
	return "", false
}

// SearchFriends returns the friends that match every known criterion.
func (c *Contacts) SearchFriends(crit Criteria) []*Friend {
	var out []*Friend
	for i := range c.Friends {
		if match(crit, c.Friends[i].Field) {
			out = append(out, &c.Friends[i])
		}
	}
	return out
}

// SearchGroups returns the groups that match every known criterion.
func (c *Contacts) SearchGroups(crit Criteria) []*Group {
	var out []*Group
	for i := range c.Groups {
		if match(crit, c.Groups[i].Field) {
			out = append(out, &c.Groups[i])
		}
	}
	return out
}

// SearchDiscusses returns the discussion groups that match every known criterion.
func (c *Contacts) SearchDiscusses(crit Criteria) []*Discuss {
	var out []*Discuss
	for i := range c.Discusses {
		if match(crit, c.Discusses[i].Field) {
			out = append(out, &c.Discusses[i])
		}
	}
	return out
}

// SearchMembers returns the group's members that match every known criterion.
func (g *Group) SearchMembers(crit Criteria) []*Member {
	var out []*Member
	for i := range g.Members {
		if match(crit, g.Members[i].Field) {
			out = append(out, &g.Members[i])
		}
	}
	return out
}

// SearchMembers returns the discussion's members that match every known criterion.
func (d *Discuss) SearchMembers(crit Criteria) []*DiscussMember {
	var out []*DiscussMember
	for i := range d.Members {
		if match(crit, d.Members[i].Field) {
			out = append(out, &d.Members[i])
		}
	}
	return out
}

// FindMember looks a member up by session id or QQ number, as kick and
// shutup do with each entry of member_id / member_uid.
func (g *Group) FindMember(key, value string) *Member {
	value = strings.TrimSpace(value)
	for i := range g.Members {
		if got, _ := g.Members[i].Field(key); got == value && value != "" {
			return &g.Members[i]
		}
	}
	return nil
}

// MemberDisplayName names a group member in messages: the friend markname
// when the member is a friend with one, else the card, else the nickname
// (group_member_use_friend_markname, spec §4.4).
func (c *Contacts) MemberDisplayName(m *Member) string {
	if f := c.Friend(m.ID); f != nil && f.Markname != nil && *f.Markname != "" {
		return *f.Markname
	}
	return m.DisplayName()
}
