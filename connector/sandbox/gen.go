package sandbox

import "math/rand/v2"

// idGen hands out unique ids without remembering them: each kind of id is a
// counter passed through a bijection of [0, 2^31), so ids look random, never
// repeat and cost no memory however large the world is.
type idGen struct {
	key     [3]uint32
	n       [3]uint32
	reserve int64 // the account's own number, never handed out again
}

const (
	kindSession = iota // uin, gid, did, gcode: 10 digits from 1e9
	kindQQ             // QQ numbers: 5 to 10 digits
	kindGroup          // group numbers: 6 to 10 digits
)

func newIDGen(r *rand.Rand, reserve int64) idGen {
	return idGen{key: [3]uint32{r.Uint32(), r.Uint32(), r.Uint32()}, reserve: reserve}
}

func scramble(x, key uint32) uint32 {
	const mask = 1<<31 - 1
	x = (x * 0x2545F491) & mask // odd multipliers permute Z/2^31
	x ^= key & mask
	x = (x * 0x6C8E9CF5) & mask
	x ^= x >> 13 // a right xorshift is invertible too
	return x
}

func (g *idGen) next(kind int) int64 {
	base := [3]int64{1_000_000_000, 10_000, 100_000}[kind]
	for {
		v := base + int64(scramble(g.n[kind], g.key[kind]))
		g.n[kind]++
		if v != g.reserve {
			return v
		}
	}
}

// World generation. Sizes: zero means the default, negative means none.
const (
	defaultFriends         = 12
	defaultGroups          = 4
	defaultMembersPerGroup = 20
	defaultDiscusses       = 2
	defaultDiscussMembers  = 5
)

func size(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// Epoch seconds bounding generated dates: groups were created between 2008
// and mid-2018, and the service ended at the close of 2018.
const (
	epoch2008 = 1199145600
	epoch2018 = 1527811200
	epochEnd  = 1546214400
)

type generator struct {
	r         *rand.Rand
	m         *model
	strangers []*person
}

func newModel(o Options) *model {
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x51A7B0C5))
	selfUID := o.SelfUID
	if selfUID == 0 {
		selfUID = 1_000_000_000 + r.Int64N(2_000_000_000)
	}
	m := &model{ids: newIDGen(r, selfUID), rng: rand.New(rand.NewPCG(uint64(o.Seed), 0xADD))}
	g := &generator{r: r, m: m}
	self := g.newPerson()
	self.id, self.uid = selfUID, selfUID
	self.status, self.clientType = "online", 41
	if o.SelfNick != "" {
		self.nick = o.SelfNick
	}
	m.self = self
	m.birthday = [3]int{1975 + r.IntN(30), 1 + r.IntN(12), 1 + r.IntN(28)}

	for range size(o.Friends, defaultFriends) {
		g.addFriend()
	}
	perGroup := max(2, size(o.MembersPerGroup, defaultMembersPerGroup))
	for i := range size(o.Groups, defaultGroups) {
		g.addGroup(i, perGroup)
	}
	perDiscuss := max(2, size(o.DiscussMembers, defaultDiscussMembers))
	for range size(o.Discusses, defaultDiscusses) {
		g.addDiscuss(perDiscuss)
	}
	return m
}

// newPerson draws a stranger with fresh ids; the rng is the generator's.
func (g *generator) newPerson() *person { return drawPerson(g.r, &g.m.ids) }

func drawPerson(r *rand.Rand, ids *idGen) *person {
	p := &person{id: ids.next(kindSession), uid: ids.next(kindQQ), country: "中国", status: "offline"}
	p.gender = "male"
	if r.IntN(2) == 0 {
		p.gender = "female"
	}
	p.nick = nickName(r, p.gender)
	pl := pick(r, places)
	p.province, p.city = pl.province, pl.city
	if pl.province == "" {
		p.country = ""
	}
	p.face = r.IntN(200)
	p.lnick = pick(r, signatures)
	if r.IntN(100) < 15 {
		p.vipLevel = 1 + r.IntN(7)
	}
	if r.IntN(100) < 35 {
		p.status = pick(r, onlineStatuses)
		p.clientType = pick(r, clientTypes)
	}
	return p
}

func (g *generator) addFriend() {
	r := g.r
	f := &friend{person: g.newPerson()}
	switch n := r.IntN(100); {
	case n < 45:
		f.category = 0
	default:
		f.category = 1 + r.IntN(len(categoryNames)-1)
	}
	if r.IntN(100) < 20 {
		f.markname = realName(r, f.gender)
	}
	g.m.friends = append(g.m.friends, f)
}

// memberPool picks n distinct persons other than the account: some friends,
// some strangers met in other groups, mostly new strangers.
func (g *generator) memberPool(n int) []*person {
	r := g.r
	seen := make(map[*person]bool, n)
	out := make([]*person, 0, n)
	for len(out) < n {
		var p *person
		switch k := r.IntN(100); {
		case k < 15 && len(g.m.friends) > 0:
			p = pick(r, g.m.friends).person
		case k < 40 && len(g.strangers) > 0:
			p = pick(r, g.strangers)
		default:
			p = g.newPerson()
			g.strangers = append(g.strangers, p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// ownRole spreads the account's own roles so that every world of two or more
// groups has one it created and one it manages.
func ownRole(r *rand.Rand, i int) string {
	switch {
	case i == 0:
		return "create"
	case i == 1:
		return "manage"
	}
	switch n := r.IntN(10); {
	case n < 1:
		return "create"
	case n < 3:
		return "manage"
	}
	return "attend"
}

func (g *generator) addGroup(i, n int) {
	r, m := g.r, g.m
	created := int64(epoch2008 + r.IntN(epoch2018-epoch2008))
	gr := &group{
		gid: m.ids.next(kindSession), code: m.ids.next(kindSession), uid: m.ids.next(kindGroup),
		name: groupName(r, 2000+r.IntN(18)), memo: pick(r, groupMemos),
		createTime: created, level: r.IntN(6), class: 10000 + r.IntN(100), role: ownRole(r, i),
	}
	if r.IntN(100) < 20 {
		gr.markname = pick(r, groupTopics) + "群"
	}
	others := g.memberPool(n - 1)
	admins := min(3, len(others)/8)
	if gr.role == "manage" {
		admins = max(0, admins-1)
	}
	first := 0 // others[0] owns the group unless the account does
	if gr.role != "create" {
		first = 1
	}
	for j, p := range others {
		mb := g.newMember(p, created)
		switch {
		case j < first:
			mb.role = "owner"
			mb.joinTime = created
		case j < first+admins:
			mb.role = "admin"
		}
		gr.members = append(gr.members, mb)
	}
	me := g.newMember(m.self, created)
	me.role = map[string]string{"create": "owner", "manage": "admin", "attend": "member"}[gr.role]
	if gr.role == "create" {
		me.joinTime = created
		gr.members = append([]*member{me}, gr.members...)
	} else {
		at := 1 + r.IntN(len(gr.members))
		gr.members = append(gr.members[:at], append([]*member{me}, gr.members[at:]...)...)
	}
	m.groups = append(m.groups, gr)
}

func (g *generator) newMember(p *person, created int64) *member {
	r := g.r
	mb := &member{person: p, role: "member"}
	mb.joinTime = created + r.Int64N(epochEnd-created)
	if r.IntN(100) < 70 {
		mb.lastSpeak = mb.joinTime + r.Int64N(epochEnd-mb.joinTime+1)
	}
	if r.IntN(100) < 40 {
		mb.card = cardFor(r, p)
	}
	return mb
}

func (g *generator) addDiscuss(n int) {
	r, m := g.r, g.m
	members := append([]*person{m.self}, g.memberPool(n-1)...)
	d := &discuss{
		did: m.ids.next(kindSession), name: discussName(r, members[1:]),
		owner: pick(r, members).id, infoSeq: int64(1 + r.IntN(100)),
		members: members,
	}
	m.discusses = append(m.discusses, d)
}
