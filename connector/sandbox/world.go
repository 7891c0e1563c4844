package sandbox

import "slices"

// World is a copy of the sandbox's contacts, for tests to pick ids from and
// for the control API. IDs are SmartQQ session handles (uin on the wire);
// UIDs are QQ numbers and group numbers, which only the ext (qun.qq.com)
// calls reveal.
type World struct {
	Self       User       `json:"self"`
	Categories []Category `json:"categories"`
	Friends    []Friend   `json:"friends"`
	Groups     []Group    `json:"groups"`
	Discusses  []Discuss  `json:"discusses"`
}

// User is the logged-in account. Its session id is its QQ number, as the
// real service's login2 and get_self_info2 agreed.
type User struct {
	ID        int64  `json:"id"`
	UID       int64  `json:"uid"`
	Nick      string `json:"nick"`
	Gender    string `json:"gender"`
	Signature string `json:"signature"`
	Birthday  string `json:"birthday"` // Y-M-D without zero padding
	Country   string `json:"country"`
	Province  string `json:"province"`
	City      string `json:"city"`
	Face      int    `json:"face"`
}

// Category is a buddy-list folder; index 0 is the default "我的好友".
type Category struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
}

// Friend is one buddy.
type Friend struct {
	ID         int64  `json:"id"`
	UID        int64  `json:"uid"`
	Nick       string `json:"nick"`
	Markname   string `json:"markname,omitempty"`
	Category   int    `json:"category"`
	Gender     string `json:"gender"`
	Face       int    `json:"face"`
	VIPLevel   int    `json:"vip_level"` // 0 = not a VIP
	Status     string `json:"status"`    // "offline", "online", "away", "busy", "callme", "silent"
	ClientType int    `json:"client_type"`
}

// Group is one QQ group the account belongs to.
type Group struct {
	ID         int64    `json:"id"`   // gid: the session handle
	Code       int64    `json:"code"` // gcode for get_group_info_ext2
	UID        int64    `json:"uid"`  // the group number
	Name       string   `json:"name"`
	Markname   string   `json:"markname,omitempty"`
	Memo       string   `json:"memo"`
	CreateTime int64    `json:"createtime"`
	Level      int      `json:"level"`
	OwnerID    int64    `json:"owner_id"`
	OwnerUID   int64    `json:"owner_uid"`
	Role       string   `json:"role"` // the account's own role: "create", "manage" or "attend"
	Members    []Member `json:"members"`
}

// Member is one member of a group.
type Member struct {
	ID            int64  `json:"id"`
	UID           int64  `json:"uid"`
	Nick          string `json:"nick"`
	Card          string `json:"card,omitempty"`
	Gender        string `json:"gender"`
	Country       string `json:"country"`
	Province      string `json:"province"`
	City          string `json:"city"`
	Role          string `json:"role"` // "owner", "admin" or "member"
	Status        string `json:"status"`
	ClientType    int    `json:"client_type"`
	JoinTime      int64  `json:"join_time"`
	LastSpeakTime int64  `json:"last_speak_time"`
	MutedUntil    int64  `json:"muted_until,omitempty"` // epoch seconds; 0 = not muted
}

// Discuss is one discussion (a group chat without a number).
type Discuss struct {
	ID      int64           `json:"id"` // did
	Name    string          `json:"name"`
	OwnerID int64           `json:"owner_id"`
	Members []DiscussMember `json:"members"`
}

// DiscussMember is one member of a discussion; UID is the ruin the service
// sent with it.
type DiscussMember struct {
	ID         int64  `json:"id"`
	UID        int64  `json:"uid"`
	Nick       string `json:"nick"`
	Status     string `json:"status"`
	ClientType int    `json:"client_type"`
}

// Friend returns the friend with session id id.
func (w *World) Friend(id int64) (Friend, bool) {
	i := slices.IndexFunc(w.Friends, func(f Friend) bool { return f.ID == id })
	if i < 0 {
		return Friend{}, false
	}
	return w.Friends[i], true
}

// Group returns the group with gid id.
func (w *World) Group(id int64) (Group, bool) {
	i := slices.IndexFunc(w.Groups, func(g Group) bool { return g.ID == id })
	if i < 0 {
		return Group{}, false
	}
	return w.Groups[i], true
}

// GroupWithRole returns the first group where the account has role
// ("create", "manage" or "attend").
func (w *World) GroupWithRole(role string) (Group, bool) {
	i := slices.IndexFunc(w.Groups, func(g Group) bool { return g.Role == role })
	if i < 0 {
		return Group{}, false
	}
	return w.Groups[i], true
}

// Discuss returns the discussion with did id.
func (w *World) Discuss(id int64) (Discuss, bool) {
	i := slices.IndexFunc(w.Discusses, func(d Discuss) bool { return d.ID == id })
	if i < 0 {
		return Discuss{}, false
	}
	return w.Discusses[i], true
}

// Member returns the member of g with session id id.
func (g *Group) Member(id int64) (Member, bool) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return m.ID == id })
	if i < 0 {
		return Member{}, false
	}
	return g.Members[i], true
}

// MemberWithRole returns the first member of g with role other than the
// account itself.
func (g *Group) MemberWithRole(role string, self int64) (Member, bool) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return m.Role == role && m.ID != self })
	if i < 0 {
		return Member{}, false
	}
	return g.Members[i], true
}

// Member returns the member of d with session id id.
func (d *Discuss) Member(id int64) (DiscussMember, bool) {
	i := slices.IndexFunc(d.Members, func(m DiscussMember) bool { return m.ID == id })
	if i < 0 {
		return DiscussMember{}, false
	}
	return d.Members[i], true
}
