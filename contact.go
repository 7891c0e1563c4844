package openqq

// Client types and online statuses as the Openqq API names them (spec §16.1).
const (
	ClientTypeWeb     = "web"
	ClientTypeUnknown = "unknown"
	StatusOnline      = "online"
	StatusOffline     = "offline"
)

// Group roles of the logged-in account (ext data, spec §4.3).
const (
	GroupRoleAttend = "attend" // member
	GroupRoleManage = "manage" // admin
	GroupRoleCreate = "create" // owner
)

// Member roles inside a group (ext data, spec §4.4).
const (
	MemberRoleOwner  = "owner"
	MemberRoleAdmin  = "admin"
	MemberRoleMember = "member"
)

// DefaultCategory names friend category 0 when the server gives it no name.
const DefaultCategory = "我的好友"

// User is the logged-in account (/openqq/get_user_info, spec §4.1).
type User struct {
	ID         ID     `json:"id"`
	UID        ID     `json:"uid"` // the QQ number; always known for the user
	Account    string `json:"account"`
	Name       string `json:"name"`
	Signature  string `json:"signature"`
	Sex        string `json:"sex"`
	Birthday   string `json:"birthday"` // "Y-M-D" without zero padding
	State      string `json:"state"`
	ClientType string `json:"client_type"`
	Face       Int    `json:"face"`
	Phone      string `json:"phone"`
	Mobile     string `json:"mobile"`
	Email      string `json:"email"`
	Occupation string `json:"occupation"`
	College    string `json:"college"`
	Homepage   string `json:"homepage"`
	Country    string `json:"country"`
	Province   string `json:"province"`
	City       string `json:"city"`
	Personal   string `json:"personal"`
	Blood      Int    `json:"blood"`
	Constel    Int    `json:"constel"`
	Shengxiao  Int    `json:"shengxiao"`
	Allow      Int    `json:"allow"`
	VipInfo    Int    `json:"vip_info"`
}

// DisplayName is how messages name the user.
func (u *User) DisplayName() string { return u.Name }

// Friend is one buddy-list entry (/openqq/get_friend_info, spec §4.2).
type Friend struct {
	ID         ID      `json:"id"`
	UID        ID      `json:"uid"` // null without ext data
	Name       string  `json:"name"`
	Markname   *string `json:"markname"` // null when the friend has no remark name
	Category   string  `json:"category"`
	Face       Int     `json:"face"`
	Flag       Int     `json:"flag"`
	IsVip      *Int    `json:"is_vip"`    // null when the server sent no vipinfo
	VipLevel   *Int    `json:"vip_level"` // null when the server sent no vipinfo
	State      string  `json:"state"`
	ClientType string  `json:"client_type"`
}

// DisplayName is the markname when set, else the nickname (spec §4.2).
func (f *Friend) DisplayName() string {
	if f.Markname != nil && *f.Markname != "" {
		return *f.Markname
	}
	return f.Name
}

// Member is a group member (spec §4.4).
type Member struct {
	ID            ID      `json:"id"`
	UID           ID      `json:"uid"` // null without ext data
	Name          string  `json:"name"`
	Card          *string `json:"card"` // always present; null without a card
	Sex           string  `json:"sex"`
	Country       string  `json:"country"`
	Province      string  `json:"province"`
	City          string  `json:"city"`
	State         string  `json:"state"`
	ClientType    string  `json:"client_type"`
	Role          string  `json:"role,omitempty"`            // ext only: owner, admin or member
	LastSpeakTime Int     `json:"last_speak_time,omitempty"` // ext only, epoch seconds
	JoinTime      Int     `json:"join_time,omitempty"`       // ext only, epoch seconds
}

// DisplayName is the card when set, else the nickname. Callers that know the
// friend list prefer the friend's markname (spec §4.4).
func (m *Member) DisplayName() string {
	if m.Card != nil && *m.Card != "" {
		return *m.Card
	}
	return m.Name
}

// Group is a QQ group (/openqq/get_group_info, spec §4.3).
type Group struct {
	ID         ID       `json:"id"`   // gid, the session handle
	UID        ID       `json:"uid"`  // the group number; null without ext data
	Code       ID       `json:"code"` // used by get_group_info_ext2
	Name       string   `json:"name"`
	Markname   *string  `json:"markname"`
	Memo       string   `json:"memo"`
	CreateTime Int      `json:"createtime"`
	Level      Int      `json:"level"`
	OwnerID    ID       `json:"owner_id"`
	OwnerUID   ID       `json:"owner_uid"`
	Role       string   `json:"role,omitempty"` // ext only: attend, manage or create
	MaxMember  *Int     `json:"max_member"`
	MaxAdmin   *Int     `json:"max_admin"`
	Members    []Member `json:"member,omitempty"`
}

// DisplayName is the markname when set, else the group name.
func (g *Group) DisplayName() string {
	if g.Markname != nil && *g.Markname != "" {
		return *g.Markname
	}
	return g.Name
}

// Member returns the member with the given session id, or nil.
func (g *Group) Member(id ID) *Member {
	for i := range g.Members {
		if g.Members[i].ID == id {
			return &g.Members[i]
		}
	}
	return nil
}

// Basic returns a copy of the group without its member list
// (/openqq/get_group_basic_info).
func (g Group) Basic() Group {
	g.Members = nil
	return g
}

// DiscussMember is a member of a discussion group (spec §4.5).
type DiscussMember struct {
	ID         ID     `json:"id"`
	UID        ID     `json:"uid"` // ruin: known without ext data
	Name       string `json:"name"`
	State      string `json:"state"`
	ClientType string `json:"client_type"`
}

// Discuss is a discussion group (/openqq/get_discuss_info, spec §4.5).
type Discuss struct {
	ID      ID              `json:"id"`
	Name    string          `json:"name"`
	OwnerID ID              `json:"owner_id"`
	Members []DiscussMember `json:"member"`
}

// Member returns the member with the given session id, or nil.
func (d *Discuss) Member(id ID) *DiscussMember {
	for i := range d.Members {
		if d.Members[i].ID == id {
			return &d.Members[i]
		}
	}
	return nil
}

// Contacts is everything a login loads: the snapshot the relay serves
// read endpoints from.
type Contacts struct {
	User      User      `json:"user"`
	Friends   []Friend  `json:"friends"`
	Groups    []Group   `json:"groups"`
	Discusses []Discuss `json:"discusses"`
}

// Friend returns the friend with the given session id, or nil.
func (c *Contacts) Friend(id ID) *Friend {
	for i := range c.Friends {
		if c.Friends[i].ID == id {
			return &c.Friends[i]
		}
	}
	return nil
}

// Group returns the group with the given session id, or nil.
func (c *Contacts) Group(id ID) *Group {
	for i := range c.Groups {
		if c.Groups[i].ID == id {
			return &c.Groups[i]
		}
	}
	return nil
}

// Discuss returns the discussion group with the given session id, or nil.
func (c *Contacts) Discuss(id ID) *Discuss {
	for i := range c.Discusses {
		if c.Discusses[i].ID == id {
			return &c.Discusses[i]
		}
	}
	return nil
}
