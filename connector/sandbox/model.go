package sandbox

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// person is one QQ account of the world. Friends, group members and
// discussion members point at shared persons, so a friend who is also in a
// group has one id everywhere.
type person struct {
	id, uid    int64 // session handle (uin on the wire), QQ number
	nick       string
	gender     string // "male" | "female"
	country    string
	province   string
	city       string
	face       int
	vipLevel   int    // 0 = not a VIP
	status     string // "offline", "online", "away", "busy", "callme", "silent"
	clientType int
	lnick      string // signature
}

type friend struct {
	*person
	category int
	markname string
	flag     int
}

type member struct {
	*person
	card       string
	role       string // "owner" | "admin" | "member"
	joinTime   int64
	lastSpeak  int64
	mutedUntil int64
}

type group struct {
	gid, code, uid int64
	name, memo     string
	markname       string
	createTime     int64
	level          int
	class          int
	role           string // the account's own role: "create" | "manage" | "attend"
	members        []*member
	signed         int // sign-ins so far (qiandao)
}

type discuss struct {
	did     int64
	name    string
	owner   int64
	infoSeq int64
	members []*person
}

// model is the mutable world behind the server; the server's mutex guards it.
type model struct {
	self      *person
	birthday  [3]int
	friends   []*friend
	groups    []*group
	discusses []*discuss
	ids       idGen
	rng       *rand.Rand // draws names for contacts added without one
}

func (m *model) friend(id int64) *friend {
	i := slices.IndexFunc(m.friends, func(f *friend) bool { return f.id == id })
	if i < 0 {
		return nil
	}
	return m.friends[i]
}

func (m *model) group(gid int64) *group {
	i := slices.IndexFunc(m.groups, func(g *group) bool { return g.gid == gid })
	if i < 0 {
		return nil
	}
	return m.groups[i]
}

func (m *model) groupByCode(code int64) *group {
	i := slices.IndexFunc(m.groups, func(g *group) bool { return g.code == code })
	if i < 0 {
		return nil
	}
	return m.groups[i]
}

func (m *model) groupByUID(uid int64) *group {
	i := slices.IndexFunc(m.groups, func(g *group) bool { return g.uid == uid })
	if i < 0 {
		return nil
	}
	return m.groups[i]
}

func (m *model) discuss(did int64) *discuss {
	i := slices.IndexFunc(m.discusses, func(d *discuss) bool { return d.did == did })
	if i < 0 {
		return nil
	}
	return m.discusses[i]
}

func (g *group) member(id int64) *member {
	i := slices.IndexFunc(g.members, func(mb *member) bool { return mb.id == id })
	if i < 0 {
		return nil
	}
	return g.members[i]
}

func (g *group) memberByUID(uid int64) *member {
	i := slices.IndexFunc(g.members, func(mb *member) bool { return mb.uid == uid })
	if i < 0 {
		return nil
	}
	return g.members[i]
}

func (g *group) owner() *member {
	i := slices.IndexFunc(g.members, func(mb *member) bool { return mb.role == "owner" })
	if i < 0 {
		return nil
	}
	return g.members[i]
}

func (d *discuss) member(id int64) *person {
	i := slices.IndexFunc(d.members, func(p *person) bool { return p.id == id })
	if i < 0 {
		return nil
	}
	return d.members[i]
}

// person finds anyone the account knows by session id: itself, a friend, a
// group member or a discussion member. It scans, so only control calls use it.
func (m *model) person(id int64) *person {
	if id == m.self.id {
		return m.self
	}
	if f := m.friend(id); f != nil {
		return f.person
	}
	for _, g := range m.groups {
		if mb := g.member(id); mb != nil {
			return mb.person
		}
	}
	for _, d := range m.discusses {
		if p := d.member(id); p != nil {
			return p
		}
	}
	return nil
}

// snapshot copies the model into a World.
func (m *model) snapshot() World {
	s := m.self
	w := World{
		Self: User{
			ID: s.id, UID: s.uid, Nick: s.nick, Gender: s.gender, Signature: s.lnick,
			Birthday: fmt.Sprintf("%d-%d-%d", m.birthday[0], m.birthday[1], m.birthday[2]),
			Country:  s.country, Province: s.province, City: s.city, Face: s.face,
		},
		Friends:   make([]Friend, 0, len(m.friends)),
		Groups:    make([]Group, 0, len(m.groups)),
		Discusses: make([]Discuss, 0, len(m.discusses)),
	}
	for i, name := range categoryNames {
		w.Categories = append(w.Categories, Category{Index: i, Name: name})
	}
	for _, f := range m.friends {
		w.Friends = append(w.Friends, f.snapshot())
	}
	for _, g := range m.groups {
		w.Groups = append(w.Groups, g.snapshot())
	}
	for _, d := range m.discusses {
		w.Discusses = append(w.Discusses, d.snapshot())
	}
	return w
}

func (f *friend) snapshot() Friend {
	return Friend{
		ID: f.id, UID: f.uid, Nick: f.nick, Markname: f.markname, Category: f.category,
		Gender: f.gender, Face: f.face, VIPLevel: f.vipLevel, Status: f.status, ClientType: f.clientType,
	}
}

func (d *discuss) snapshot() Discuss {
	dc := Discuss{ID: d.did, Name: d.name, OwnerID: d.owner, Members: make([]DiscussMember, 0, len(d.members))}
	for _, p := range d.members {
		dc.Members = append(dc.Members, DiscussMember{ID: p.id, UID: p.uid, Nick: p.nick, Status: p.status, ClientType: p.clientType})
	}
	return dc
}

func (g *group) snapshot() Group {
	gc := Group{
		ID: g.gid, Code: g.code, UID: g.uid, Name: g.name, Markname: g.markname, Memo: g.memo,
		CreateTime: g.createTime, Level: g.level, Role: g.role, Members: make([]Member, 0, len(g.members)),
	}
	if o := g.owner(); o != nil {
		gc.OwnerID, gc.OwnerUID = o.id, o.uid
	}
	for _, mb := range g.members {
		gc.Members = append(gc.Members, Member{
			ID: mb.id, UID: mb.uid, Nick: mb.nick, Card: mb.card, Gender: mb.gender,
			Country: mb.country, Province: mb.province, City: mb.city, Role: mb.role,
			Status: mb.status, ClientType: mb.clientType, JoinTime: mb.joinTime,
			LastSpeakTime: mb.lastSpeak, MutedUntil: mb.mutedUntil,
		})
	}
	return gc
}
