package webqq_test

import (
	"testing"
	"unicode/utf8"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
)

// stateName and clientTypeName are spec §16.1 written out again for the
// comparison with the sandbox's world.
func clientTypeName(code int) string {
	switch code {
	case 1:
		return "pc"
	case 21:
		return "mobile"
	case 24:
		return "iphone"
	case 41:
		return "web"
	}
	return "unknown"
}

func cut21(s string) string {
	for len(s) > 21 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

func categoryName(w sandbox.World, index int) string {
	for _, c := range w.Categories {
		if c.Index == index {
			return c.Name
		}
	}
	if index == 0 {
		return openqq.DefaultCategory
	}
	return ""
}

func TestSandboxContacts(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 7, Friends: 30, Groups: 4, MembersPerGroup: 25, Discusses: 3}))
	c, _ := login(t, srv, webqq.Options{})
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	if u := ct.User; int64(u.ID) != w.Self.ID || int64(u.UID) != w.Self.UID || u.Name != w.Self.Nick ||
		u.Birthday != w.Self.Birthday || u.Sex != w.Self.Gender || u.State != "online" || u.ClientType != "web" {
		t.Errorf("user %+v\nworld %+v", u, w.Self)
	}
	if len(ct.Friends) != len(w.Friends) {
		t.Fatalf("%d friends, world has %d", len(ct.Friends), len(w.Friends))
	}
	for _, wf := range w.Friends {
		f := ct.Friend(openqq.ID(wf.ID))
		if f == nil {
			t.Errorf("friend %d missing", wf.ID)
			continue
		}
		mark := ""
		if f.Markname != nil {
			mark = *f.Markname
		}
		state := wf.Status
		if state == "" {
			state = "offline"
		}
		if f.Name != wf.Nick || mark != wf.Markname || f.Category != categoryName(w, wf.Category) ||
			int(f.Face) != wf.Face || f.State != state || f.ClientType != clientTypeName(wf.ClientType) || f.UID != 0 {
			t.Errorf("friend %+v\nworld %+v", f, wf)
		}
		if wf.VIPLevel > 0 && (f.IsVip == nil || *f.IsVip != 1 || int(*f.VipLevel) != wf.VIPLevel) {
			t.Errorf("friend %d vip %v/%v, world level %d", wf.ID, f.IsVip, f.VipLevel, wf.VIPLevel)
		}
	}
	if len(ct.Groups) != len(w.Groups) {
		t.Fatalf("%d groups, world has %d", len(ct.Groups), len(w.Groups))
	}
	for _, wg := range w.Groups {
		g := ct.Group(openqq.ID(wg.ID))
		if g == nil || int64(g.Code) != wg.Code || g.Name != wg.Name || int64(g.OwnerID) != wg.OwnerID ||
			g.Memo != wg.Memo || int64(g.CreateTime) != wg.CreateTime || len(g.Members) != len(wg.Members) {
			t.Errorf("group %+v\nworld %+v", g, wg)
			continue
		}
		for _, wm := range wg.Members {
			m := g.Member(openqq.ID(wm.ID))
			if m == nil {
				t.Errorf("group %d member %d missing", wg.ID, wm.ID)
				continue
			}
			card := ""
			if m.Card != nil {
				card = *m.Card
			}
			if m.Name != wm.Nick || card != cut21(wm.Card) || m.Sex != wm.Gender || m.City != wm.City ||
				m.ClientType != clientTypeName(wm.ClientType) || m.UID != 0 || m.Role != "" {
				t.Errorf("member %+v\nworld %+v", m, wm)
			}
			if (wm.Card == "") != (m.Card == nil) {
				t.Errorf("member %d card %v, world %q", wm.ID, m.Card, wm.Card)
			}
		}
	}
	for _, wd := range w.Discusses {
		d := ct.Discuss(openqq.ID(wd.ID))
		if d == nil || d.Name != wd.Name || int64(d.OwnerID) != wd.OwnerID || len(d.Members) != len(wd.Members) {
			t.Errorf("discussion %+v\nworld %+v", d, wd)
			continue
		}
		for _, wm := range wd.Members {
			m := d.Member(openqq.ID(wm.ID))
			if m == nil || m.Name != wm.Nick || int64(m.UID) != wm.UID || m.ClientType != clientTypeName(wm.ClientType) {
				t.Errorf("discussion member %+v\nworld %+v", m, wm)
			}
		}
	}
}

func TestSandboxContactsWithExt(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 11, Friends: 40, Groups: 5, MembersPerGroup: 30, Password: sandboxPassword}))
	c, _ := login(t, srv, webqq.Options{Password: sandboxPassword})
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	matched, total := 0, 0
	for _, wf := range w.Friends {
		f := ct.Friend(openqq.ID(wf.ID))
		total++
		switch {
		case f.UID == 0:
		case int64(f.UID) != wf.UID:
			t.Errorf("friend %d got uid %d, world %d", wf.ID, f.UID, wf.UID)
		default:
			matched++
		}
	}
	for _, wg := range w.Groups {
		g := ct.Group(openqq.ID(wg.ID))
		if int64(g.UID) != wg.UID || int64(g.OwnerUID) != wg.OwnerUID || g.Role != wg.Role {
			t.Errorf("group %d: uid %d owner %d role %q; world %d %d %q", wg.ID, g.UID, g.OwnerUID, g.Role, wg.UID, wg.OwnerUID, wg.Role)
		}
		for _, wm := range wg.Members {
			m := g.Member(openqq.ID(wm.ID))
			total++
			switch {
			case m.UID == 0:
			case int64(m.UID) != wm.UID || m.Role != wm.Role || int64(m.JoinTime) != wm.JoinTime:
				t.Errorf("member %d of %d: uid %d role %q join %d; world %+v", wm.ID, wg.ID, m.UID, m.Role, m.JoinTime, wm)
			default:
				matched++
			}
		}
	}
	// Names repeat in a drawn world; what no data tells apart stays unmatched.
	if matched < total*9/10 {
		t.Errorf("matched %d of %d uids", matched, total)
	}
	t.Logf("matched %d of %d friend and member uids", matched, total)
}
