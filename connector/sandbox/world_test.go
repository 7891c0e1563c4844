package sandbox

import (
	"reflect"
	"testing"
	"unicode"
)

func TestWorldIsDeterministic(t *testing.T) {
	a := NewUnstartedServer(Options{Seed: 42}).World()
	b := NewUnstartedServer(Options{Seed: 42}).World()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two worlds of seed 42 differ")
	}
	c := NewUnstartedServer(Options{Seed: 43}).World()
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 42 and 43 gave the same world")
	}
	if d := NewUnstartedServer(Options{}).World(); !reflect.DeepEqual(d, NewUnstartedServer(Options{Seed: 1}).World()) {
		t.Fatal("seed 0 is not seed 1")
	}
}

func TestWorldDefaultsAndSizes(t *testing.T) {
	w := NewUnstartedServer(Options{}).World()
	checkSizes(t, w, 12, 4, 20, 2, 5)
	w = NewUnstartedServer(Options{Friends: 3, Groups: 2, MembersPerGroup: 7, Discusses: 1, DiscussMembers: 4}).World()
	checkSizes(t, w, 3, 2, 7, 1, 4)
	w = NewUnstartedServer(Options{Friends: -1, Groups: -1, Discusses: -1}).World()
	checkSizes(t, w, 0, 0, 0, 0, 0)
}

func checkSizes(t *testing.T, w World, friends, groups, perGroup, discusses, perDiscuss int) {
	t.Helper()
	if len(w.Friends) != friends || len(w.Groups) != groups || len(w.Discusses) != discusses {
		t.Fatalf("sizes %d/%d/%d, want %d/%d/%d", len(w.Friends), len(w.Groups), len(w.Discusses), friends, groups, discusses)
	}
	for _, g := range w.Groups {
		if len(g.Members) != perGroup {
			t.Fatalf("group %d has %d members, want %d", g.ID, len(g.Members), perGroup)
		}
	}
	for _, d := range w.Discusses {
		if len(d.Members) != perDiscuss {
			t.Fatalf("discussion %d has %d members, want %d", d.ID, len(d.Members), perDiscuss)
		}
	}
}

// checkWorld asserts the invariants every world keeps.
func checkWorld(t *testing.T, w World) {
	t.Helper()
	if w.Self.ID != w.Self.UID || w.Self.Nick == "" {
		t.Fatalf("self %+v", w.Self)
	}
	people := map[int64]int64{w.Self.ID: w.Self.UID} // session id → QQ number, one per person
	seen := func(id, uid int64, what string) {
		if id == uid && id != w.Self.ID {
			t.Fatalf("%s: session id equals QQ number %d", what, id)
		}
		if have, ok := people[id]; ok && have != uid {
			t.Fatalf("%s: id %d names two people", what, id)
		}
		people[id] = uid
	}
	for _, f := range w.Friends {
		seen(f.ID, f.UID, "friend")
		if f.Nick == "" || f.Category < 0 || f.Category >= len(w.Categories) {
			t.Fatalf("friend %+v", f)
		}
	}
	containers := map[int64]bool{}
	for _, g := range w.Groups {
		for _, id := range []int64{g.ID, g.Code} {
			if containers[id] || people[id] != 0 {
				t.Fatalf("group id %d reused", id)
			}
			containers[id] = true
		}
		roles := map[string]int{}
		var self *Member
		for i, m := range g.Members {
			seen(m.ID, m.UID, "member")
			roles[m.Role]++
			if m.ID == w.Self.ID {
				self = &g.Members[i]
			}
		}
		if roles["owner"] != 1 || self == nil {
			t.Fatalf("group %d: roles %v, self member %v", g.ID, roles, self)
		}
		want := map[string]string{"create": "owner", "manage": "admin", "attend": "member"}[g.Role]
		if self.Role != want || (g.Role == "create") != (g.OwnerID == w.Self.ID) {
			t.Fatalf("group %d: own role %s but member role %s, owner %d", g.ID, g.Role, self.Role, g.OwnerID)
		}
	}
	for _, d := range w.Discusses {
		if containers[d.ID] || people[d.ID] != 0 {
			t.Fatalf("discussion id %d reused", d.ID)
		}
		containers[d.ID] = true
		if _, ok := d.Member(w.Self.ID); !ok {
			t.Fatalf("self not in discussion %d", d.ID)
		}
		for _, m := range d.Members {
			seen(m.ID, m.UID, "discussion member")
		}
	}
}

func TestWorldInvariants(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		checkWorld(t, NewUnstartedServer(Options{Seed: seed, Groups: 6}).World())
	}
}

func TestWorldLooksReal(t *testing.T) {
	w := NewUnstartedServer(Options{Seed: 7, Friends: 200, Groups: 10}).World()
	han, marked, online, vip := 0, 0, 0, 0
	for _, f := range w.Friends {
		for _, r := range f.Nick {
			if unicode.Is(unicode.Han, r) {
				han++
				break
			}
		}
		if f.Markname != "" {
			marked++
		}
		if f.Status != "offline" {
			online++
			if f.ClientType == 0 {
				t.Fatalf("online friend without client type: %+v", f)
			}
		}
		if f.VIPLevel > 0 {
			vip++
		}
	}
	if han < 100 || marked == 0 || online == 0 || vip == 0 {
		t.Fatalf("friends: %d Chinese nicks, %d marknames, %d online, %d VIPs", han, marked, online, vip)
	}
	if g, ok := w.GroupWithRole("create"); !ok || g.OwnerUID != w.Self.UID {
		t.Fatal("no group the account created")
	}
	if _, ok := w.GroupWithRole("manage"); !ok {
		t.Fatal("no group the account manages")
	}
	cards := 0
	for _, g := range w.Groups {
		if g.Name == "" || g.UID == 0 {
			t.Fatalf("group %+v", g)
		}
		for _, m := range g.Members {
			if m.Card != "" {
				cards++
			}
		}
	}
	if cards == 0 {
		t.Fatal("no member has a card")
	}
}

func TestWorldOwnNumber(t *testing.T) {
	w := NewUnstartedServer(Options{SelfUID: 2372961723, SelfNick: "小灰"}).World()
	if w.Self.UID != 2372961723 || w.Self.ID != 2372961723 || w.Self.Nick != "小灰" {
		t.Fatalf("self %+v", w.Self)
	}
	checkWorld(t, w)
}

// A large world builds and keeps its invariants; BenchmarkLargeWorld
// measures how long that takes.
func TestLargeWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("large world skipped in -short mode")
	}
	w := NewUnstartedServer(Options{Friends: 5000, Groups: 500, MembersPerGroup: 500}).World()
	checkSizes(t, w, 5000, 500, 500, 2, 5)
	checkWorld(t, w)
}

func BenchmarkLargeWorld(b *testing.B) {
	for b.Loop() {
		NewUnstartedServer(Options{Friends: 5000, Groups: 500, MembersPerGroup: 500})
	}
}
