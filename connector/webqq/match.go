package webqq

import (
	"strconv"

	"github.com/openqq-relay/openqq"
)

// keyPair is one way of naming items on both sides of a match; "" names
// nothing and never matches.
type keyPair struct {
	left  func(i int) string
	right func(j int) string
}

// pairUnique pairs nl left items with nr right items. Anchors are pairs
// known for certain (the same QQ number seen on both sides); an anchor whose
// right item is claimed twice is dropped. Then each key in turn pairs the
// unpaired items whose key is unique on both sides, and the passes repeat
// while they pair something: once some duplicates are paired through
// another key, the rest may become unique. Nothing is ever paired on a
// guess, so duplicates that no data tells apart stay unpaired.
//
// [GO] spec §4.7: the original skipped every object whose key was
// duplicated on either side.
func pairUnique(nl, nr int, anchors map[int]int, keys []keyPair) map[int]int {
	pairs := make(map[int]int)
	usedR := make(map[int]bool)
	claims := make(map[int]int)
	for _, j := range anchors {
		claims[j]++
	}
	for i, j := range anchors {
		if i >= 0 && i < nl && j >= 0 && j < nr && claims[j] == 1 {
			pairs[i], usedR[j] = j, true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, k := range keys {
			lk := make(map[string][]int)
			for i := range nl {
				if _, done := pairs[i]; !done {
					if s := k.left(i); s != "" {
						lk[s] = append(lk[s], i)
					}
				}
			}
			rk := make(map[string][]int)
			for j := range nr {
				if !usedR[j] {
					if s := k.right(j); s != "" {
						rk[s] = append(rk[s], j)
					}
				}
			}
			for s, ls := range lk {
				if rs := rk[s]; len(ls) == 1 && len(rs) == 1 {
					pairs[ls[0]], usedR[rs[0]] = rs[0], true
					changed = true
				}
			}
		}
	}
	return pairs
}

// extFriend is one entry of qun_mgr/get_friend_list.
type extFriend struct {
	Name     string
	UIN      int64
	Category string
}

// matchFriends sets the uid of the friends that can be matched by
// displayname and category, or else by nickname and category.
func matchFriends(friends []openqq.Friend, ext []extFriend) {
	keys := []keyPair{
		{func(i int) string { return friends[i].DisplayName() + "|" + friends[i].Category },
			func(j int) string { return ext[j].Name + "|" + ext[j].Category }},
		{func(i int) string { return friends[i].Name + "|" + friends[i].Category },
			func(j int) string { return ext[j].Name + "|" + ext[j].Category }},
	}
	for i, j := range pairUnique(len(friends), len(ext), nil, keys) {
		friends[i].UID = openqq.ID(ext[j].UIN)
	}
}

// extGroup is one entry of qun_mgr/get_group_list.
type extGroup struct {
	UID      int64
	Name     string
	OwnerUID int64
	Role     string
}

// self identifies the logged-in account on both sides of a match.
type self struct {
	id  openqq.ID // session handle
	uid int64     // QQ number
}

// knownUIDs maps session ids to the QQ numbers known for them: our own,
// matched friends', members matched in any group (the same person has the
// same session id in every group), and discussion members' ruin.
func knownUIDs(me self, ct *openqq.Contacts) map[openqq.ID]int64 {
	known := map[openqq.ID]int64{}
	add := func(id, uid openqq.ID) {
		if id != 0 && uid != 0 {
			known[id] = int64(uid)
		}
	}
	for _, d := range ct.Discusses {
		for _, m := range d.Members {
			add(m.ID, m.UID)
		}
	}
	for _, g := range ct.Groups {
		for _, m := range g.Members {
			add(m.ID, m.UID)
		}
	}
	for _, f := range ct.Friends {
		add(f.ID, f.UID)
	}
	add(me.id, openqq.ID(me.uid))
	return known
}

// matchGroups sets uid, owner_uid and role of the groups that can be
// matched by name and owner, or by name alone.
func matchGroups(groups []openqq.Group, ext []extGroup, known map[openqq.ID]int64) {
	owner := make([]int64, len(groups))
	for i := range groups {
		owner[i] = known[groups[i].OwnerID]
	}
	keys := []keyPair{
		{func(i int) string {
			if owner[i] == 0 {
				return ""
			}
			return groups[i].Name + "|" + strconv.FormatInt(owner[i], 10)
		}, func(j int) string { return ext[j].Name + "|" + strconv.FormatInt(ext[j].OwnerUID, 10) }},
		{func(i int) string { return groups[i].Name }, func(j int) string { return ext[j].Name }},
	}
	for i, j := range pairUnique(len(groups), len(ext), nil, keys) {
		g, e := &groups[i], ext[j]
		g.UID, g.OwnerUID, g.Role = openqq.ID(e.UID), openqq.ID(e.OwnerUID), e.Role
	}
}

// extMember is one member of qinfo get_group_members.
type extMember struct {
	UIN       int64
	Name      string
	Card      string // full card
	HasCard   bool
	Role      string
	JoinTime  int64
	LastSpeak int64
}

// matchMembers sets uid, role, card and the times of the group's members.
// Anchors: the owner and every member whose QQ number is known. Then
// name+card, name, and card (cut as SmartQQ cuts it).
func matchMembers(g *openqq.Group, ext []extMember, ownerUID int64, known map[openqq.ID]int64) {
	ms := g.Members
	byUIN := make(map[int64]int, len(ext))
	for j, e := range ext {
		byUIN[e.UIN] = j
	}
	anchors := make(map[int]int)
	for i := range ms {
		uid := known[ms[i].ID]
		if uid == 0 && ms[i].ID == g.OwnerID {
			uid = ownerUID
		}
		if j, ok := byUIN[uid]; ok && uid != 0 {
			anchors[i] = j
		}
	}
	card := func(m *openqq.Member) string {
		if m.Card == nil {
			return ""
		}
		return *m.Card
	}
	extCard := func(j int) string { return cut(ext[j].Card, cardBytes) }
	keys := []keyPair{
		{func(i int) string { return ms[i].Name + "|" + card(&ms[i]) },
			func(j int) string { return ext[j].Name + "|" + extCard(j) }},
		{func(i int) string { return ms[i].Name }, func(j int) string { return ext[j].Name }},
		{func(i int) string { return card(&ms[i]) }, extCard},
	}
	for i, j := range pairUnique(len(ms), len(ext), anchors, keys) {
		m, e := &ms[i], ext[j]
		m.UID, m.Role = openqq.ID(e.UIN), e.Role
		m.JoinTime, m.LastSpeakTime = openqq.Int(e.JoinTime), openqq.Int(e.LastSpeak)
		if e.HasCard {
			c := cut(e.Card, cardBytes)
			m.Card = &c
		}
	}
}
