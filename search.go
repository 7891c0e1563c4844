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

// matcher is Criteria prepared for testing many objects: a slice instead
// of a map walk per object, and each value's id form parsed once, so that
// id fields compare as numbers instead of being formatted for every object.
type matcher []term

type term struct {
	key, value string
	id         ID
	isID       bool // value is exactly how id prints, so it can equal an id field
}

func (c Criteria) matcher() matcher {
	m := make(matcher, 0, len(c))
	for k, v := range c {
		t := term{key: k, value: v}
		if id, err := ParseID(v); err == nil && id.String() == v {
			t.id, t.isID = id, true
		}
		m = append(m, t)
	}
	return m
}

// searchable is what matching needs of an object: its id-valued fields, and
// the string form of every field (Field).
type searchable interface {
	idField(key string) (ID, bool)
	Field(key string) (string, bool)
}

// match applies the criteria to one object's fields: every known key must
// be equal, and at least one key must be known.
func (m matcher) match(o searchable) bool {
	known := 0
	for _, t := range m {
		if id, ok := o.idField(t.key); ok {
			if !t.isID || id != t.id {
				return false
			}
			known++
			continue
		}
		got, ok := o.Field(t.key)
		if !ok {
			continue
		}
		known++
		if got != t.value {
			return false
		}
	}
	return known > 0
}

// personIDField is the id fields of a person (friend, group member,
// discussion member): the session id and the QQ number.
func personIDField(key string, id, uid ID) (ID, bool) {
	switch key {
	case "id":
		return id, true
	case "uid", "qq":
		return uid, true
	}
	return 0, false
}

// Field returns the friend's accessor value for a search key (spec §4.6).
func (f *Friend) Field(key string) (string, bool) {
	if id, ok := f.idField(key); ok {
		return idString(id), true
	}
	switch key {
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

func (f *Friend) idField(key string) (ID, bool) { return personIDField(key, f.ID, f.UID) }

// Field returns the group's accessor value for a search key, including the
// original's aliases (number, gnumber, gid, gcode, gname, gtype).
func (g *Group) Field(key string) (string, bool) {
	if id, ok := g.idField(key); ok {
		return idString(id), true
	}
	switch key {
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
	case "role", "gtype":
		return g.Role, true
	case "member_count":
		return strconv.Itoa(len(g.Members)), true
	}
	return "", false
}

func (g *Group) idField(key string) (ID, bool) {
	switch key {
	case "id", "gid":
		return g.ID, true
	case "uid", "number", "gnumber":
		return g.UID, true
	case "code", "gcode":
		return g.Code, true
	case "owner_id":
		return g.OwnerID, true
	case "owner_uid":
		return g.OwnerUID, true
	}
	return 0, false
}

// Field returns the member's accessor value for a search key.
func (m *Member) Field(key string) (string, bool) {
	if id, ok := m.idField(key); ok {
		return idString(id), true
	}
	switch key {
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

func (m *Member) idField(key string) (ID, bool) { return personIDField(key, m.ID, m.UID) }

// Field returns the discussion group's accessor value for a search key.
func (d *Discuss) Field(key string) (string, bool) {
	if id, ok := d.idField(key); ok {
		return idString(id), true
	}
	switch key {
	case "name", "displayname":
		return d.Name, true
	}
	return "", false
}

func (d *Discuss) idField(key string) (ID, bool) {
	switch key {
	case "id", "did":
		return d.ID, true
	case "owner_id":
		return d.OwnerID, true
	}
	return 0, false
}

// Field returns the discussion member's accessor value for a search key.
func (m *DiscussMember) Field(key string) (string, bool) {
	if id, ok := m.idField(key); ok {
		return idString(id), true
	}
	switch key {
	case "name", "nick", "displayname":
		return m.Name, true
	case "state":
		return m.State, true
	case "client_type":
		return m.ClientType, true
	}
	return "", false
}

func (m *DiscussMember) idField(key string) (ID, bool) { return personIDField(key, m.ID, m.UID) }

// SearchFriends returns the friends that match every known criterion.
func (c *Contacts) SearchFriends(crit Criteria) []*Friend {
	var out []*Friend
	m := crit.matcher()
	for i := range c.Friends {
		if m.match(&c.Friends[i]) {
			out = append(out, &c.Friends[i])
		}
	}
	return out
}

// SearchGroups returns the groups that match every known criterion.
func (c *Contacts) SearchGroups(crit Criteria) []*Group {
	var out []*Group
	m := crit.matcher()
	for i := range c.Groups {
		if m.match(&c.Groups[i]) {
			out = append(out, &c.Groups[i])
		}
	}
	return out
}

// SearchDiscusses returns the discussion groups that match every known criterion.
func (c *Contacts) SearchDiscusses(crit Criteria) []*Discuss {
	var out []*Discuss
	m := crit.matcher()
	for i := range c.Discusses {
		if m.match(&c.Discusses[i]) {
			out = append(out, &c.Discusses[i])
		}
	}
	return out
}

// SearchMembers returns the group's members that match every known criterion.
func (g *Group) SearchMembers(crit Criteria) []*Member {
	var out []*Member
	m := crit.matcher()
	for i := range g.Members {
		if m.match(&g.Members[i]) {
			out = append(out, &g.Members[i])
		}
	}
	return out
}

// SearchMembers returns the discussion's members that match every known criterion.
func (d *Discuss) SearchMembers(crit Criteria) []*DiscussMember {
	var out []*DiscussMember
	m := crit.matcher()
	for i := range d.Members {
		if m.match(&d.Members[i]) {
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
