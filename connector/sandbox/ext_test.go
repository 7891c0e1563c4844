package sandbox

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// extLogin runs spec §17.1 with p sealed by key and password, returning the
// ptuiCB strings of /login.
func (c *client) extLogin(key *rsa.PublicKey, password string) []string {
	c.t.Helper()
	if code, _ := c.get("/cgi-bin/xlogin?appid=715030901&daid=73&pt_no_auth=1&s_url=http%3A%2F%2Fqun.qq.com%2F", refQunRoot); code != 200 {
		c.t.Fatalf("ext xlogin: %d", code)
	}
	uid := c.srv.World().Self.UID
	code, body := c.get(fmt.Sprintf("/check?regmaster=&pt_tea=2&pt_vcode=1&uin=%d&appid=715030901&js_ver=10233&js_type=1&login_sig=%s&u1=http%%3A%%2F%%2Fqun.qq.com%%2F&r=0.5&pt_uistyle=40&pt_jstoken=485008785", uid, c.cookie("pt_login_sig")), refExtLogin)
	q := quoted(body)
	if code != 200 || len(q) != 5 || q[0] != "0" {
		c.t.Fatalf("check: %d %s", code, body)
	}
	salt := parseSalt(c.t, q[2])
	if binary.BigEndian.Uint64(salt[:]) != uint64(uid) {
		c.t.Fatalf("salt %q is not the uin", q[2])
	}
	p := sealPassword(c.t, key, password, salt, q[1])
	path := fmt.Sprintf("/login?u=%d&verifycode=%s&pt_vcode_v1=0&pt_verifysession_v1=%s&p=%s&pt_randsalt=%s&pt_jstoken=485008785&u1=http%%3A%%2F%%2Fqun.qq.com%%2F&ptredirect=1&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=1-14-1515074375763&js_ver=10233&js_type=1&login_sig=%s&pt_uistyle=40&aid=715030901&daid=73&has_onekey=1&",
		uid, q[1], q[3], p, q[4], c.cookie("pt_login_sig"))
	code, body = c.get(path, refExtLogin)
	if code != 200 {
		c.t.Fatalf("login: %d %s", code, body)
	}
	return quoted(body)
}

// parseSalt reads the \xNN escapes of the check callback.
func parseSalt(t testing.TB, s string) [8]byte {
	t.Helper()
	var salt [8]byte
	parts := strings.Split(s, `\x`)
	if len(parts) != 9 || parts[0] != "" {
		t.Fatalf("salt %q", s)
	}
	for i, h := range parts[1:] {
		b, err := strconv.ParseUint(h, 16, 8)
		if err != nil {
			t.Fatalf("salt %q: %v", s, err)
		}
		salt[i] = byte(b)
	}
	return salt
}

// extReady logs in by QR and then to qun.qq.com, as spec §15.5 does.
func extReady(t *testing.T, o Options) (*Server, *client) {
	t.Helper()
	o.Password = "s3cret"
	srv, c := loggedIn(t, o)
	q := c.extLogin(srv.RSAPublicKey(), "s3cret")
	if q[0] != "0" {
		t.Fatalf("ext login: %q", q)
	}
	u, _ := url.Parse(q[2])
	if code, _ := c.get(u.RequestURI(), ""); code != 200 {
		t.Fatalf("ext check_sig: %d", code)
	}
	return srv, c
}

func (c *client) bkn() string { return strconv.FormatInt(bkn(c.cookie("skey")), 10) }

func (c *client) ext(path, referer string, form url.Values) map[string]any {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("bkn") == "" {
		form.Set("bkn", c.bkn())
	}
	return c.postForm(path, referer, form)
}

func ec(t testing.TB, m map[string]any) int64 {
	t.Helper()
	return num(t, m["ec"])
}

func TestExtLoginPassword(t *testing.T) {
	srv := newTestServer(t, Options{Password: "s3cret"})
	c := newClient(t, srv)
	for _, tc := range []struct {
		name     string
		key      *rsa.PublicKey
		password string
		want     string
	}{
		{"wrong password", srv.RSAPublicKey(), "s3cre", "3"},
		{"sealed with Tencent's key", tencentKey(), "s3cret", "3"},
		{"right password", srv.RSAPublicKey(), "s3cret", "0"},
	} {
		q := c.extLogin(tc.key, tc.password)
		if q[0] != tc.want {
			t.Errorf("%s: %q", tc.name, q)
		}
		if tc.want == "3" && q[4] != "您输入的帐号或密码不正确，请重新输入。" {
			t.Errorf("%s: message %q", tc.name, q[4])
		}
	}
}

func TestExtLoginRefusals(t *testing.T) {
	srv := newTestServer(t, Options{}) // no password: the login always fails
	c := newClient(t, srv)
	if q := c.extLogin(srv.RSAPublicKey(), ""); q[0] != "3" {
		t.Fatalf("no password: %q", q)
	}
	open := newTestServer(t, Options{AcceptSealedPasswords: true})
	if q := newClient(t, open).extLogin(tencentKey(), "anything"); q[0] != "0" {
		t.Fatalf("AcceptSealedPasswords: %q", q)
	}
	// A wrong verify code is 4, a login without /check is 7.
	srv = newTestServer(t, Options{Password: "pw"})
	c = newClient(t, srv)
	c.get("/cgi-bin/xlogin?appid=715030901&daid=73&pt_no_auth=1&s_url=http%3A%2F%2Fqun.qq.com%2F", refQunRoot)
	uid := srv.World().Self.UID
	login := func(vcode, session string) []string {
		_, body := c.get(fmt.Sprintf("/login?u=%d&verifycode=%s&pt_vcode_v1=0&pt_verifysession_v1=%s&p=AAAA&aid=715030901&daid=73&login_sig=%s&", uid, vcode, session, c.cookie("pt_login_sig")), refExtLogin)
		return quoted(body)
	}
	if q := login("!ABC", "x"); q[0] != "7" {
		t.Fatalf("login before check: %q", q)
	}
	_, body := c.get(fmt.Sprintf("/check?uin=%d&appid=715030901&login_sig=%s", uid, c.cookie("pt_login_sig")), refExtLogin)
	q := quoted(body)
	if q := login("!ZZZZ", q[3]); q[0] != "4" {
		t.Fatalf("wrong verify code: %q", q)
	}
	if code, _ := c.get(fmt.Sprintf("/check?uin=%d&appid=715030901", uid), refXLogin); code != 403 {
		t.Fatalf("check with the SmartQQ referer: %d", code)
	}
}

// Password mode (spec §15.6): the ext login first, then pt4_auth resumes
// SmartQQ without a QR code.
func TestPasswordModeLogin(t *testing.T) {
	srv := newTestServer(t, Options{Password: "pw"})
	c := newClient(t, srv)
	q := c.extLogin(srv.RSAPublicKey(), "pw")
	u, _ := url.Parse(q[2])
	c.get(u.RequestURI(), "")
	c.get("/cgi-bin/xlogin?appid=501004106", refW)
	_, body := c.get(fmt.Sprintf("/pt4_auth?daid=164&appid=501004106&auth_token=%d", time33(c.cookie("supertoken"))), refXLogin)
	if q := quoted(body); q[0] != "2" {
		t.Fatalf("pt4_auth after the password login: %s", body)
	} else {
		c.finishLogin(q[1])
	}
	if !srv.State().LoggedIn {
		t.Fatal("not logged in")
	}
}

func TestExtNeedsTheExtLogin(t *testing.T) {
	_, c := loggedIn(t, Options{})
	if m := c.ext("/cgi-bin/qun_mgr/get_group_list", refQun, nil); ec(t, m) != 4 {
		t.Fatalf("ext call after a QR login only: %v", m)
	}
}

func TestExtLists(t *testing.T) {
	srv, c := extReady(t, Options{Seed: 4, Friends: 20, Groups: 5})
	w := srv.World()
	if m := c.ext("/cgi-bin/qun_mgr/get_group_list", refQun, url.Values{"bkn": {"1"}}); ec(t, m) != 4 {
		t.Fatalf("wrong bkn: %v", m)
	}
	if code, _ := c.do("POST", "/cgi-bin/qun_mgr/get_group_list", refQInfo, url.Values{"bkn": {c.bkn()}}); code != 403 {
		t.Fatalf("wrong referer: %d", code)
	}
	gl := c.ext("/cgi-bin/qun_mgr/get_group_list", refQun, nil)
	roles := map[int64]string{}
	for key, role := range map[string]string{"join": "attend", "manage": "manage", "create": "create"} {
		list, _ := gl[key].([]any)
		for _, e := range list {
			roles[num(t, e.(map[string]any)["gc"])] = role
		}
	}
	for _, g := range w.Groups {
		if roles[g.UID] != g.Role {
			t.Errorf("group %d: role %q, want %q", g.UID, roles[g.UID], g.Role)
		}
	}
	fl := c.ext("/cgi-bin/qun_mgr/get_friend_list", refQun, nil)["result"].(map[string]any)
	n := 0
	for idx, cat := range fl {
		cm := cat.(map[string]any)
		if _, named := cm["gname"]; named == (idx == "0") {
			t.Errorf("category %s: %v", idx, cm)
		}
		mems, _ := cm["mems"].([]any)
		n += len(mems)
	}
	if n != len(w.Friends) {
		t.Fatalf("%d friends in get_friend_list, want %d", n, len(w.Friends))
	}
	g := w.Groups[2]
	gm := c.ext("/cgi-bin/qun_info/get_group_members", refQInfo, url.Values{"gc": {fmt.Sprint(g.UID)}, "u": {fmt.Sprint(w.Self.UID)}})
	if ec(t, gm) != 0 || len(gm["mems"].([]any)) != len(g.Members) || num(t, gm["owner"]) != g.OwnerUID {
		t.Fatalf("get_group_members: %v", gm)
	}
}

func TestKickRules(t *testing.T) {
	srv, c := extReady(t, Options{Seed: 2, Groups: 6, MembersPerGroup: 30})
	w := srv.World()
	kick := func(g Group, uids ...int64) int64 {
		var ul []string
		for _, u := range uids {
			ul = append(ul, fmt.Sprint(u))
		}
		return ec(t, c.ext("/cgi-bin/qun_mgr/delete_group_member", refQun, url.Values{"gc": {fmt.Sprint(g.UID)}, "ul": {strings.Join(ul, "|")}, "flag": {"0"}}))
	}
	created, _ := w.GroupWithRole("create")
	managed, _ := w.GroupWithRole("manage")
	attended, ok := w.GroupWithRole("attend")
	if !ok {
		t.Fatal("no attended group in this world")
	}
	plain, _ := managed.MemberWithRole("member", w.Self.ID)
	owner, _ := managed.MemberWithRole("owner", w.Self.ID)
	admin, _ := created.MemberWithRole("admin", w.Self.ID)
	victim, _ := attended.MemberWithRole("member", w.Self.ID)
	for _, tc := range []struct {
		name string
		got  int64
		want int64
	}{
		{"member of an attended group", kick(attended, victim.UID), 7},
		{"owner by a manager", kick(managed, owner.UID), 7},
		{"the account itself", kick(managed, w.Self.UID), 7},
		{"unknown uid", kick(managed, 1), 1},
		{"member by a manager", kick(managed, plain.UID), 0},
		{"admin by the creator", kick(created, admin.UID), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: ec %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	kicks := srv.Kicks()
	if len(kicks) != 2 || kicks[0].MemberUID != plain.UID || kicks[0].GroupUID != managed.UID || kicks[1].MemberID != admin.ID {
		t.Fatalf("kicks %+v", kicks)
	}
	w = srv.World()
	if g, _ := w.Group(managed.ID); func() bool { _, in := g.Member(plain.ID); return in }() {
		t.Fatal("the kicked member is still in the world")
	}
	info := c.getJSON(fmt.Sprintf("/api/get_group_info_ext2?gcode=%d&vfwebqq=%s&t=1", managed.Code, c.vfwebqq), refS)["result"].(map[string]any)
	if len(info["minfo"].([]any)) != len(managed.Members)-1 {
		t.Fatal("get_group_info_ext2 still lists the kicked member")
	}
}

func TestMuteRules(t *testing.T) {
	srv, c := extReady(t, Options{Seed: 2, Groups: 6, MembersPerGroup: 30})
	w := srv.World()
	mute := func(g Group, list string) int64 {
		return ec(t, c.ext("/cgi-bin/qun_info/set_group_shutup", refQInfo3, url.Values{"gc": {fmt.Sprint(g.UID)}, "shutup_list": {list}}))
	}
	managed, _ := w.GroupWithRole("manage")
	attended, _ := w.GroupWithRole("attend")
	plain, _ := managed.MemberWithRole("member", w.Self.ID)
	owner, _ := managed.MemberWithRole("owner", w.Self.ID)
	other, _ := attended.MemberWithRole("member", w.Self.ID)
	for _, tc := range []struct {
		name string
		got  int64
		want int64
	}{
		{"in an attended group", mute(attended, fmt.Sprintf(`[{"uin":%d,"t":600}]`, other.UID)), 7},
		{"the owner", mute(managed, fmt.Sprintf(`[{"uin":%d,"t":600}]`, owner.UID)), 7},
		{"a member and the owner", mute(managed, fmt.Sprintf(`[{"uin":%d,"t":60},{"uin":%d,"t":60}]`, plain.UID, owner.UID)), 7},
		{"bad list", mute(managed, `{"uin":1}`), 1},
		{"negative time", mute(managed, fmt.Sprintf(`[{"uin":%d,"t":-1}]`, plain.UID)), 1},
		{"a member", mute(managed, fmt.Sprintf(`[{"uin":%d,"t":600}]`, plain.UID)), 0},
		{"lift the mute", mute(managed, fmt.Sprintf(`[{"uin":%d,"t":0}]`, plain.UID)), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: ec %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if code, _ := c.do("POST", "/cgi-bin/qun_info/set_group_shutup", refQInfo, url.Values{"gc": {fmt.Sprint(managed.UID)}, "bkn": {c.bkn()}}); code != 403 {
		t.Fatalf("shutup with R_QINFO instead of R_QINFO3: %d", code)
	}
	mutes := srv.Mutes()
	if len(mutes) != 2 || mutes[0].MemberUID != plain.UID || mutes[0].Seconds != 600 || mutes[1].Seconds != 0 {
		t.Fatalf("mutes %+v", mutes)
	}
}

func TestAdminCardInviteSign(t *testing.T) {
	srv, c := extReady(t, Options{Seed: 2, Groups: 6, MembersPerGroup: 30, Friends: 30})
	w := srv.World()
	created, _ := w.GroupWithRole("create")
	managed, _ := w.GroupWithRole("manage")
	plain, _ := created.MemberWithRole("member", w.Self.ID)
	gc := func(g Group) string { return fmt.Sprint(g.UID) }
	if m := c.ext("/cgi-bin/qun_info/set_group_admin", refQInfo, url.Values{"src": {"qinfo_v2"}, "gc": {gc(created)}, "u": {fmt.Sprint(plain.UID)}, "op": {"1"}}); ec(t, m) != 0 {
		t.Fatalf("set admin: %v", m)
	}
	mplain, _ := managed.MemberWithRole("member", w.Self.ID)
	if m := c.ext("/cgi-bin/qun_info/set_group_admin", refQInfo, url.Values{"src": {"qinfo_v2"}, "gc": {gc(managed)}, "u": {fmt.Sprint(mplain.UID)}, "op": {"1"}}); ec(t, m) != 7 {
		t.Fatalf("set admin as a manager: %v", m)
	}
	if m := c.ext("/cgi-bin/qun_info/set_group_card", refQInfo, url.Values{"gc": {gc(managed)}, "u": {fmt.Sprint(mplain.UID)}, "name": {"新名片"}}); ec(t, m) != 0 {
		t.Fatalf("set card: %v", m)
	}
	w = srv.World()
	g, _ := w.Group(created.ID)
	if m, _ := g.Member(plain.ID); m.Role != "admin" {
		t.Fatalf("role after set_group_admin: %+v", m)
	}
	g, _ = w.Group(managed.ID)
	if m, _ := g.Member(mplain.ID); m.Card != "新名片" {
		t.Fatalf("card after set_group_card: %+v", m)
	}
	// Invite a friend who is not in the group yet.
	var invitee Friend
	for _, f := range w.Friends {
		if _, in := g.Member(f.ID); !in {
			invitee = f
			break
		}
	}
	if m := c.ext("/cgi-bin/qun_mgr/add_group_member", refQun, url.Values{"gc": {gc(managed)}, "ul": {fmt.Sprint(invitee.UID)}}); ec(t, m) != 0 {
		t.Fatalf("invite: %v", m)
	}
	if m := c.ext("/cgi-bin/qun_mgr/add_group_member", refQun, url.Values{"gc": {gc(managed)}, "ul": {fmt.Sprint(invitee.UID)}}); ec(t, m) != 1 {
		t.Fatalf("second invite: %v", m)
	}
	w = srv.World()
	g, _ = w.Group(managed.ID)
	if _, in := g.Member(invitee.ID); !in {
		t.Fatal("the invitee is not a member")
	}
	sign := c.ext("/cgi-bin/sign", fmt.Sprintf(refQiandao, managed.UID), url.Values{"gc": {gc(managed)}, "is_sign": {"0"}})
	if ec(t, sign) != 0 || num(t, sign["is_sign"]) != 1 {
		t.Fatalf("sign: %v", sign)
	}
	if code, _ := c.do("POST", "/cgi-bin/sign", fmt.Sprintf(refQiandao, created.UID), url.Values{"gc": {gc(managed)}, "bkn": {c.bkn()}}); code != 403 {
		t.Fatalf("sign with another group's referer: %d", code)
	}
}
