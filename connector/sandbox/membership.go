package sandbox

import (
	"fmt"
	"slices"
	"time"
)

// Membership changes. Like the real service, the sandbox pushes no event
// for them: clients see them in their next contact calls (spec §21).

// personFor finds the person with id, or makes a new one from the given
// fields, drawing whatever is left zero. The caller holds mu.
func (s *Server) personFor(id, uid int64, nick, gender, status string, clientType int) (*person, error) {
	if id != 0 {
		if p := s.m.person(id); p != nil {
			return p, nil
		}
		if s.m.group(id) != nil || s.m.discuss(id) != nil {
			return nil, fmt.Errorf("%w: id %d names a group or discussion", ErrInvalid, id)
		}
	}
	if status != "" && (statusCodes[status] == 0 || status == "hidden") {
		return nil, fmt.Errorf("%w: status %q", ErrInvalid, status)
	}
	p := drawPerson(s.m.rng, &s.m.ids)
	if id != 0 {
		p.id = id
	}
	if uid != 0 {
		p.uid = uid
	}
	if nick != "" {
		p.nick = nick
	}
	if gender == "male" || gender == "female" {
		p.gender = gender
	}
	if status != "" {
		p.status, p.clientType = status, clientType
	}
	return p, nil
}

// AddFriend makes someone a friend: the person with f.ID when it is already
// known (a group member, say), else a new person from f's non-zero fields.
// It returns the friend as added.
func (s *Server) AddFriend(f Friend) (Friend, error) {
	if f.Category < 0 || f.Category >= len(categoryNames) {
		return Friend{}, fmt.Errorf("%w: category %d", ErrInvalid, f.Category)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ID == s.m.self.id || (f.ID != 0 && s.m.friend(f.ID) != nil) {
		return Friend{}, fmt.Errorf("%w: %d is already a friend or the account", ErrInvalid, f.ID)
	}
	p, err := s.personFor(f.ID, f.UID, f.Nick, f.Gender, f.Status, f.ClientType)
	if err != nil {
		return Friend{}, err
	}
	if f.VIPLevel > 0 {
		p.vipLevel = f.VIPLevel
	}
	fr := &friend{person: p, category: f.Category, markname: f.Markname}
	s.m.friends = append(s.m.friends, fr)
	return fr.snapshot(), nil
}

// RemoveFriend deletes a friend.
func (s *Server) RemoveFriend(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.m.friends, func(f *friend) bool { return f.id == id })
	if i < 0 {
		return fmt.Errorf("%w: friend %d", ErrNotFound, id)
	}
	s.m.friends = slices.Delete(s.m.friends, i, i+1)
	return nil
}

// AddGroup adds a group the account has joined with role g.Role ("create",
// "manage" or "attend", default "attend"); ids left zero are drawn. The
// account is added as a member; g.Members are added too, and when the
// account did not create it and no member is the owner, a new owner is
// drawn.
func (s *Server) AddGroup(g Group) (Group, error) {
	if g.Role == "" {
		g.Role = "attend"
	}
	selfRole, ok := map[string]string{"create": "owner", "manage": "admin", "attend": "member"}[g.Role]
	if !ok {
		return Group{}, fmt.Errorf("%w: role %q", ErrInvalid, g.Role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	gr := &group{gid: g.ID, code: g.Code, uid: g.UID, name: g.Name, memo: g.Memo, markname: g.Markname,
		createTime: g.CreateTime, level: g.Level, class: 10000, role: g.Role}
	if gr.gid == 0 {
		gr.gid = m.ids.next(kindSession)
	}
	if gr.code == 0 {
		gr.code = m.ids.next(kindSession)
	}
	if gr.uid == 0 {
		gr.uid = m.ids.next(kindGroup)
	}
	if m.group(gr.gid) != nil || m.groupByCode(gr.code) != nil || m.groupByUID(gr.uid) != nil || m.person(gr.gid) != nil {
		return Group{}, fmt.Errorf("%w: group ids %d/%d/%d are taken", ErrInvalid, gr.gid, gr.code, gr.uid)
	}
	if gr.name == "" {
		gr.name = groupName(m.rng, 2010)
	}
	if gr.createTime == 0 {
		gr.createTime = time.Now().Unix()
	}
	gr.members = append(gr.members, &member{person: m.self, role: selfRole, joinTime: gr.createTime})
	for _, mb := range g.Members {
		if mb.ID == m.self.id {
			continue
		}
		if _, err := s.addMemberLocked(gr, mb); err != nil {
			return Group{}, err
		}
	}
	if gr.owner() == nil {
		p := drawPerson(m.rng, &m.ids)
		gr.members = append(gr.members, &member{person: p, role: "owner", joinTime: gr.createTime})
	}
	m.groups = append(m.groups, gr)
	return gr.snapshot(), nil
}

// RemoveGroup drops a group from the account's list (it left, or the group
// was dissolved).
func (s *Server) RemoveGroup(gid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.m.groups, func(g *group) bool { return g.gid == gid })
	if i < 0 {
		return fmt.Errorf("%w: group %d", ErrNotFound, gid)
	}
	s.m.groups = slices.Delete(s.m.groups, i, i+1)
	return nil
}

// AddGroupMember adds someone to a group: the known person with m.ID, or a
// new one. Role defaults to "member"; a group has one owner.
func (s *Server) AddGroupMember(gid int64, m Member) (Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.m.group(gid)
	if g == nil {
		return Member{}, fmt.Errorf("%w: group %d", ErrNotFound, gid)
	}
	mb, err := s.addMemberLocked(g, m)
	if err != nil {
		return Member{}, err
	}
	gc := g.snapshot()
	out, _ := gc.Member(mb.id)
	return out, nil
}

func (s *Server) addMemberLocked(g *group, m Member) (*member, error) {
	if m.Role == "" {
		m.Role = "member"
	}
	switch {
	case m.Role != "member" && m.Role != "admin" && m.Role != "owner":
		return nil, fmt.Errorf("%w: role %q", ErrInvalid, m.Role)
	case m.Role == "owner" && g.owner() != nil:
		return nil, fmt.Errorf("%w: group %d has an owner", ErrInvalid, g.gid)
	case m.ID != 0 && g.member(m.ID) != nil:
		return nil, fmt.Errorf("%w: %d is already a member", ErrInvalid, m.ID)
	}
	p, err := s.personFor(m.ID, m.UID, m.Nick, m.Gender, m.Status, m.ClientType)
	if err != nil {
		return nil, err
	}
	mb := &member{person: p, card: m.Card, role: m.Role, joinTime: m.JoinTime, lastSpeak: m.LastSpeakTime}
	if mb.joinTime == 0 {
		mb.joinTime = time.Now().Unix()
	}
	g.members = append(g.members, mb)
	return mb, nil
}

// RemoveGroupMember takes someone out of a group; the account itself cannot
// be (use RemoveGroup).
func (s *Server) RemoveGroupMember(gid, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.m.group(gid)
	switch {
	case g == nil || g.member(id) == nil:
		return fmt.Errorf("%w: group %d member %d", ErrNotFound, gid, id)
	case id == s.m.self.id:
		return fmt.Errorf("%w: the account leaves with RemoveGroup", ErrInvalid)
	}
	g.removeMember(id)
	return nil
}

// AddDiscuss adds a discussion with the account and d.Members in it; the
// owner defaults to the account.
func (s *Server) AddDiscuss(d Discuss) (Discuss, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	dc := &discuss{did: d.ID, name: d.Name, owner: d.OwnerID, infoSeq: 1, members: []*person{m.self}}
	if dc.did == 0 {
		dc.did = m.ids.next(kindSession)
	}
	if m.discuss(dc.did) != nil || m.group(dc.did) != nil || m.person(dc.did) != nil {
		return Discuss{}, fmt.Errorf("%w: discussion id %d is taken", ErrInvalid, dc.did)
	}
	for _, dm := range d.Members {
		if dm.ID == m.self.id || (dm.ID != 0 && dc.member(dm.ID) != nil) {
			continue
		}
		p, err := s.personFor(dm.ID, dm.UID, dm.Nick, "", dm.Status, dm.ClientType)
		if err != nil {
			return Discuss{}, err
		}
		dc.members = append(dc.members, p)
	}
	if dc.owner == 0 || dc.member(dc.owner) == nil {
		dc.owner = m.self.id
	}
	if dc.name == "" {
		dc.name = discussName(m.rng, dc.members[1:])
	}
	m.discusses = append(m.discusses, dc)
	return dc.snapshot(), nil
}

// RemoveDiscuss drops a discussion.
func (s *Server) RemoveDiscuss(did int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.m.discusses, func(d *discuss) bool { return d.did == did })
	if i < 0 {
		return fmt.Errorf("%w: discussion %d", ErrNotFound, did)
	}
	s.m.discusses = slices.Delete(s.m.discusses, i, i+1)
	return nil
}

// AddDiscussMember adds someone to a discussion.
func (s *Server) AddDiscussMember(did int64, dm DiscussMember) (DiscussMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.m.discuss(did)
	switch {
	case d == nil:
		return DiscussMember{}, fmt.Errorf("%w: discussion %d", ErrNotFound, did)
	case dm.ID != 0 && d.member(dm.ID) != nil:
		return DiscussMember{}, fmt.Errorf("%w: %d is already a member", ErrInvalid, dm.ID)
	}
	p, err := s.personFor(dm.ID, dm.UID, dm.Nick, "", dm.Status, dm.ClientType)
	if err != nil {
		return DiscussMember{}, err
	}
	d.members = append(d.members, p)
	d.infoSeq++
	return DiscussMember{ID: p.id, UID: p.uid, Nick: p.nick, Status: p.status, ClientType: p.clientType}, nil
}

// RemoveDiscussMember takes someone other than the account out of a
// discussion.
func (s *Server) RemoveDiscussMember(did, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.m.discuss(did)
	switch {
	case d == nil || d.member(id) == nil:
		return fmt.Errorf("%w: discussion %d member %d", ErrNotFound, did, id)
	case id == s.m.self.id:
		return fmt.Errorf("%w: the account leaves with RemoveDiscuss", ErrInvalid)
	}
	d.members = slices.DeleteFunc(d.members, func(p *person) bool { return p.id == id })
	d.infoSeq++
	return nil
}
