package webqq

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

func TestContacts(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{})
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u := ct.User; u.ID != 10001 || u.UID != 10001 || u.Name != "小灰" || u.Birthday != "1990-1-1" || u.State != "online" || u.ClientType != "web" {
		t.Errorf("user %+v", u)
	}
	if len(ct.Friends) != 2 {
		t.Fatalf("friends %+v", ct.Friends)
	}
	if fr := ct.Friends[0]; fr.Name != "Alice" || fr.DisplayName() != "阿丽" || fr.Category != "同学" || fr.State != "online" ||
		fr.ClientType != "pc" || fr.UID != 0 || fr.IsVip == nil {
		t.Errorf("friend 1 %+v", fr)
	}
	if fr := ct.Friends[1]; fr.Category != "我的好友" || fr.State != "offline" || fr.IsVip != nil {
		t.Errorf("friend 2 %+v", fr)
	}
	g := ct.Group(100)
	if g == nil || g.Code != 200 || g.OwnerID != 10001 || g.Memo != "简介" || len(g.Members) != 4 || g.UID != 0 || g.Role != "" {
		t.Fatalf("group %+v", g)
	}
	if m := g.Member(3); m.Card == nil || *m.Card != "卡罗" || m.State != "online" || m.ClientType != "mobile" {
		t.Errorf("member 3 %+v", m)
	}
	d := ct.Discuss(300)
	if d == nil || d.OwnerID != 10001 || len(d.Members) != 3 || d.Member(5).UID != 20005 {
		t.Errorf("discuss %+v", d)
	}
	// The result is the caller's: changing it does not touch the client's copy.
	ct.Groups[0].Members[0].Name = "changed"
	if c.contacts().Group(100).Members[0].Name != "小灰" {
		t.Error("Contacts returned the client's own data")
	}
}

func TestContactsWithExt(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{Password: fakePassword, Account: "10001"})
	if !c.snapshot().ext {
		t.Fatal("ext login failed")
	}
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ct.Friend(1).UID != 20001 || ct.Friend(2).UID != 20002 {
		t.Errorf("friend uids %v %v", ct.Friend(1).UID, ct.Friend(2).UID)
	}
	g := ct.Group(100)
	if g.UID != 900100 || g.OwnerUID != 10001 || g.Role != "create" {
		t.Errorf("group %+v", g)
	}
	want := map[openqq.ID]struct {
		uid  openqq.ID
		role string
	}{10001: {10001, "owner"}, 1: {20001, "member"}, 3: {20003, "member"}, 4: {20004, "admin"}}
	for id, w := range want {
		if m := g.Member(id); m.UID != w.uid || m.Role != w.role {
			t.Errorf("member %d: uid %d role %q, want %+v", id, m.UID, m.Role, w)
		}
	}
	if m := g.Member(3); m.JoinTime != 1500000000 || m.LastSpeakTime != 1500000100 {
		t.Errorf("member 3 times %+v", m)
	}
	chk := f.requests("/check")[0].Query
	if !strings.HasPrefix(chk, "regmaster=&pt_tea=2&pt_vcode=1&uin=10001&appid=715030901&js_ver=10233&js_type=1&login_sig=SIG&u1=http%3A%2F%2Fqun.qq.com%2F&r=0.") ||
		!strings.HasSuffix(chk, "&pt_uistyle=40&pt_jstoken=485008785") {
		t.Errorf("check query %s", chk)
	}
	login := f.requests("/login")[0].Query
	if !strings.HasPrefix(login, "u=10001&verifycode=!ABC&pt_vcode_v1=0&pt_verifysession_v1=VS&p=") ||
		!strings.HasSuffix(login, "&pt_randsalt=0&pt_jstoken=485008785&u1=http%3A%2F%2Fqun.qq.com%2F&ptredirect=1&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=1-14-1515074375763&js_ver=10233&js_type=1&login_sig=SIG&pt_uistyle=40&aid=715030901&daid=73&has_onekey=1&") {
		t.Errorf("login query %s", login)
	}
}

func TestExtReauthorisedOnEveryLogin(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{Password: fakePassword})
	if _, err := c.Login(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests("/login")); n != 2 || !c.snapshot().ext {
		t.Errorf("%d ext logins, ext %v; want one per login", n, c.snapshot().ext)
	}
}

func TestWrongPasswordOnlyDisablesExt(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{Password: "wrong"})
	if c.snapshot().ext {
		t.Fatal("ext on with a wrong password")
	}
	ct, err := c.Contacts(t.Context())
	if err != nil || ct.Friend(1).UID != 0 {
		t.Errorf("contacts %v, %v", ct, err)
	}
	if err := c.Kick(t.Context(), 100, []openqq.ID{3}); !errors.Is(err, ErrExtUnavailable) || !errors.Is(err, openqq.ErrFailure) {
		t.Errorf("kick without ext: %v", err)
	}
}

func TestContactsPartialFailure(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{})
	f.handle("/api/get_self_info2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":`) })
	f.handle("/api/get_group_info_ext2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":0,"result":{"ginfo":"x"}}`) })
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ct.User.ID != 10001 || ct.User.UID != 10001 || ct.User.Name != "" {
		t.Errorf("fallback user %+v", ct.User)
	}
	if len(ct.Friends) != 2 || len(ct.Groups) != 1 || len(ct.Groups[0].Members) != 0 {
		t.Errorf("contacts %+v", ct)
	}

	// Friends and groups both failing means the session is gone.
	f.handle("/api/get_user_friends2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":100000}`) })
	f.handle("/api/get_group_name_list_mask2", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "x", 500) })
	if _, err := c.Contacts(t.Context()); !errors.Is(err, openqq.ErrLoginRequired) {
		t.Errorf("contacts with friends and groups failing: %v", err)
	}
}

func TestKickAndMute(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{Password: fakePassword})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.Mute(ctx, 100, []openqq.ID{3, 1}, 10*time.Minute); err != nil {
		t.Fatalf("mute: %v", err)
	}
	mute := f.requests("/cgi-bin/qun_info/set_group_shutup")
	if len(mute) != 1 || mute[0].Form.Get("gc") != "900100" ||
		mute[0].Form.Get("shutup_list") != `[{"t":600,"uin":20003},{"t":600,"uin":20001}]` {
		t.Errorf("mute request %+v", mute)
	}
	for _, tc := range []struct {
		description string
		group       openqq.ID
		members     []openqq.ID
		d           time.Duration
		want        error
	}{
		{"too short", 100, []openqq.ID{3}, 59 * time.Second, ErrMuteTooShort},
		{"admin target", 100, []openqq.ID{3, 4}, time.Minute, ErrMuteAdmin},
		{"owner target", 100, []openqq.ID{10001}, time.Minute, ErrMuteAdmin},
		{"unknown group", 999, []openqq.ID{3}, time.Minute, openqq.ErrObjectNotFound},
		{"empty list", 100, nil, time.Minute, openqq.ErrMemberIDEmpty},
		{"unknown member", 100, []openqq.ID{3, 42}, time.Minute, openqq.MemberNotFound("42")},
	} {
		if err := c.Mute(ctx, tc.group, tc.members, tc.d); !errors.Is(err, tc.want) {
			t.Errorf("mute %s: %v, want %v", tc.description, err, tc.want)
		}
	}
	if err := c.Kick(ctx, 100, []openqq.ID{3, 4}); err != nil {
		t.Fatalf("kick: %v", err)
	}
	kick := f.requests("/cgi-bin/qun_mgr/delete_group_member")
	if len(kick) != 1 || kick[0].Form.Get("ul") != "20003|20004" || kick[0].Form.Get("flag") != "0" || kick[0].Form.Get("gc") != "900100" {
		t.Errorf("kick request %+v", kick)
	}
	if g := c.contacts().Group(100); g.Member(3) != nil || g.Member(4) != nil || len(g.Members) != 2 {
		t.Errorf("kicked members still listed: %+v", g.Members)
	}
	f.handle("/cgi-bin/qun_mgr/delete_group_member", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"ec":7}`) })
	if err := c.Kick(ctx, 100, []openqq.ID{1}); !errors.Is(err, openqq.ErrFailure) {
		t.Errorf("kick with ec 7: %v", err)
	}
}
