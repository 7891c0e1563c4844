package webqq

import (
	"testing"

	"github.com/openqq-relay/openqq"
)

func strp(s string) *string { return &s }

func TestMatchFriendsWithDuplicates(t *testing.T) {
	friends := []openqq.Friend{
		{ID: 1, Name: "Tom", Category: "朋友"},                           // Tom|朋友 unique → 1001
		{ID: 2, Name: "Tom", Category: "同学"},                           // Tom|同学 unique → 1002
		{ID: 3, Name: "Ann", Category: "我的好友"},                         // duplicate on both sides → none
		{ID: 4, Name: "Ann", Category: "我的好友"},                         //
		{ID: 5, Name: "Bob", Markname: strp("老板"), Category: "我的好友"},   // matched by markname
		{ID: 6, Name: "Eve", Markname: strp("Eve2"), Category: "我的好友"}, // ext names the nick → second key
		{ID: 7, Name: "Zed", Category: "我的好友"},                         // not on the ext side
	}
	ext := []extFriend{
		{Name: "Tom", UIN: 1001, Category: "朋友"},
		{Name: "Tom", UIN: 1002, Category: "同学"},
		{Name: "Ann", UIN: 1003, Category: "我的好友"},
		{Name: "Ann", UIN: 1004, Category: "我的好友"},
		{Name: "老板", UIN: 1005, Category: "我的好友"},
		{Name: "Eve", UIN: 1006, Category: "我的好友"},
	}
	matchFriends(friends, ext)
	want := []openqq.ID{1001, 1002, 0, 0, 1005, 1006, 0}
	for i, f := range friends {
		if f.UID != want[i] {
			t.Errorf("friend %d (%s) uid %d, want %d", f.ID, f.Name, f.UID, want[i])
		}
	}
}

func TestMatchGroupsByOwnerThenElimination(t *testing.T) {
	me := self{id: 10, uid: 5000}
	friends := []openqq.Friend{{ID: 20, UID: 6000, Name: "friend"}}
	groups := []openqq.Group{
		{ID: 1, Name: "家人", OwnerID: 10}, // we own it → create list entry owned by 5000
		{ID: 2, Name: "家人", OwnerID: 99}, // owner unknown → the leftover "家人"
		{ID: 3, Name: "同事", OwnerID: 20}, // owner is a friend
		{ID: 4, Name: "同事", OwnerID: 98}, // leftover
		{ID: 5, Name: "重名", OwnerID: 97}, // true duplicates: no data tells them apart
		{ID: 6, Name: "重名", OwnerID: 96},
		{ID: 7, Name: "独一", OwnerID: 95},
	}
	ext := []extGroup{
		{UID: 101, Name: "家人", OwnerUID: 7777, Role: "attend"},
		{UID: 102, Name: "家人", OwnerUID: 5000, Role: "create"},
		{UID: 103, Name: "同事", OwnerUID: 6000, Role: "manage"},
		{UID: 104, Name: "同事", OwnerUID: 8888, Role: "attend"},
		{UID: 105, Name: "重名", OwnerUID: 1, Role: "attend"},
		{UID: 106, Name: "重名", OwnerUID: 2, Role: "attend"},
		{UID: 107, Name: "独一", OwnerUID: 3, Role: "attend"},
	}
	matchGroups(groups, ext, knownUIDs(me, &openqq.Contacts{Friends: friends}))
	want := []struct {
		uid, owner openqq.ID
		role       string
	}{{102, 5000, "create"}, {101, 7777, "attend"}, {103, 6000, "manage"}, {104, 8888, "attend"},
		{0, 0, ""}, {0, 0, ""}, {107, 3, "attend"}}
	for i, g := range groups {
		if g.UID != want[i].uid || g.OwnerUID != want[i].owner || g.Role != want[i].role {
			t.Errorf("group %d: uid %d owner %d role %q, want %+v", g.ID, g.UID, g.OwnerUID, g.Role, want[i])
		}
	}
}

func TestMatchMembers(t *testing.T) {
	me := self{id: 10, uid: 5000}
	friends := []openqq.Friend{{ID: 30, UID: 6000}}
	long := "一二三四五六七八" // 24 bytes: SmartQQ cuts it to 21
	g := &openqq.Group{ID: 1, OwnerID: 40, Members: []openqq.Member{
		{ID: 10, Name: "我"},                                   // self anchor
		{ID: 30, Name: "同名"},                                  // friend anchor despite the duplicate name
		{ID: 31, Name: "同名"},                                  // then unique by elimination
		{ID: 40, Name: "群主"},                                  // owner anchor
		{ID: 50, Name: "卡", Card: strp(cut(long, cardBytes))}, // name+cut card
		{ID: 60, Name: "双", Card: strp("a")},                  // true duplicates
		{ID: 61, Name: "双", Card: strp("a")},
		{ID: 70, Name: "改名", Card: strp("唯一名片")}, // nick changed: matched by card
	}}
	ext := []extMember{
		{UIN: 5000, Name: "我", Role: "admin"},
		{UIN: 6000, Name: "同名", Role: "member", JoinTime: 11, LastSpeak: 12},
		{UIN: 6001, Name: "同名", Role: "member"},
		{UIN: 7000, Name: "群主", Role: "owner"},
		{UIN: 8000, Name: "卡", Card: long, HasCard: true, Role: "member"},
		{UIN: 9000, Name: "双", Card: "a", HasCard: true, Role: "member"},
		{UIN: 9001, Name: "双", Card: "a", HasCard: true, Role: "member"},
		{UIN: 9500, Name: "新名", Card: "唯一名片", HasCard: true, Role: "member"},
	}
	matchMembers(g, ext, 7000, knownUIDs(me, &openqq.Contacts{Friends: friends}))
	want := []openqq.ID{5000, 6000, 6001, 7000, 8000, 0, 0, 9500}
	for i, m := range g.Members {
		if m.UID != want[i] {
			t.Errorf("member %d (%s) uid %d, want %d", m.ID, m.Name, m.UID, want[i])
		}
	}
	if m := g.Members[1]; m.JoinTime != 11 || m.LastSpeakTime != 12 || m.Role != "member" {
		t.Errorf("member times/role not copied: %+v", m)
	}
	if m := g.Members[3]; m.Role != "owner" {
		t.Errorf("owner role %q", m.Role)
	}
	if c := g.Members[4].Card; c == nil || *c != "一二三四五六七" {
		t.Errorf("card %v, want the ext card cut to 21 bytes", c)
	}
}

func TestMatchMembersAcrossGroups(t *testing.T) {
	me := self{id: 10, uid: 5000}
	// 胖虎 twice in both groups; in group B one of them has a card, which
	// tells them apart there, and that anchors the same person in group A.
	ct := &openqq.Contacts{Groups: []openqq.Group{
		{ID: 1, UID: 901, Members: []openqq.Member{{ID: 10, Name: "me"}, {ID: 21, Name: "胖虎"}, {ID: 22, Name: "胖虎"}}},
		{ID: 2, UID: 902, Members: []openqq.Member{{ID: 10, Name: "me"}, {ID: 21, Name: "胖虎", Card: strp("大雄")}, {ID: 22, Name: "胖虎"}}},
	}, Discusses: []openqq.Discuss{{ID: 3, Members: []openqq.DiscussMember{{ID: 30, UID: 7000}}}}}
	lists := []*extMemberList{
		{mems: []extMember{{UIN: 5000, Name: "me"}, {UIN: 6021, Name: "胖虎"}, {UIN: 6022, Name: "胖虎"}}},
		{mems: []extMember{{UIN: 5000, Name: "me"}, {UIN: 6021, Name: "胖虎", Card: "大雄", HasCard: true}, {UIN: 6022, Name: "胖虎"}}},
	}
	matchAllMembers(ct, lists, me)
	for _, g := range ct.Groups {
		if g.Member(21).UID != 6021 || g.Member(22).UID != 6022 || g.Member(10).UID != 5000 {
			t.Errorf("group %d members %+v", g.ID, g.Members)
		}
	}
	if known := knownUIDs(me, ct); known[30] != 7000 || known[10] != 5000 {
		t.Errorf("known %v: want the discussion member's ruin and our own number", known)
	}
}

func TestPairUniqueDropsConflictingAnchors(t *testing.T) {
	pairs := pairUnique(2, 1, map[int]int{0: 0, 1: 0}, nil)
	if len(pairs) != 0 {
		t.Errorf("conflicting anchors paired: %v", pairs)
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 21, "abc"},
		{"一二三四五六七八", 21, "一二三四五六七"},
		{"aa一二三四五六七", 21, "aa一二三四五六"},
		{"", 21, ""},
	} {
		if got := cut(tc.in, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
