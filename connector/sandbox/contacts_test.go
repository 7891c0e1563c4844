package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

func loggedIn(t *testing.T, o Options) (*Server, *client) {
	t.Helper()
	srv := newTestServer(t, o)
	c := newClient(t, srv)
	c.login()
	return srv, c
}

// Every call checks what the web client sent; each case breaks one thing.
func TestRequestValidation(t *testing.T) {
	srv, c := loggedIn(t, Options{Friends: 3})
	w := srv.World()
	good := map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq}
	cases := []struct {
		name   string
		do     func() map[string]any
		wantRC int64
	}{
		{"friends ok", func() map[string]any { return c.postR("/api/get_user_friends2", refS, good) }, 0},
		{"friends wrong referer", func() map[string]any { return c.postR("/api/get_user_friends2", refD1, good) }, 100000},
		{"friends wrong hash", func() map[string]any {
			return c.postR("/api/get_user_friends2", refS, map[string]any{"hash": friendsHash("x", w.Self.UID), "vfwebqq": c.vfwebqq})
		}, 50},
		{"friends hash of another uin", func() map[string]any {
			return c.postR("/api/get_user_friends2", refS, map[string]any{"hash": friendsHash("", w.Self.UID+1), "vfwebqq": c.vfwebqq})
		}, 50},
		{"friends wrong vfwebqq", func() map[string]any {
			return c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": "nope"})
		}, 6},
		{"group list by POST", func() map[string]any { return c.postR("/api/get_group_name_list_mask2", refS, good) }, 0},
		{"group list by GET", func() map[string]any {
			raw, _ := json.Marshal(good)
			return c.getJSON("/api/get_group_name_list_mask2?r="+url.QueryEscape(string(raw)), refS)
		}, 0},
		{"r with unsorted keys", func() map[string]any {
			return c.postForm("/api/get_user_friends2", refS, url.Values{"r": {`{"vfwebqq":"` + c.vfwebqq + `","hash":"` + c.hash() + `"}`}})
		}, 0},
		{"r not JSON", func() map[string]any {
			return c.postForm("/api/get_user_friends2", refS, url.Values{"r": {"{nope"}})
		}, 100000},
		{"getvfwebqq wrong clientid", func() map[string]any {
			return c.getJSON("/api/getvfwebqq?ptwebqq=&clientid=1&psessionid=&t=1", refS)
		}, 100000},
		{"online buddies ok", func() map[string]any {
			return c.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", c.vfwebqq, c.psessionid), refD1)
		}, 0},
		{"online buddies wrong referer", func() map[string]any {
			return c.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", c.vfwebqq, c.psessionid), refS)
		}, 100001},
		{"online buddies wrong clientid", func() map[string]any {
			return c.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=5399919&psessionid=%s&t=1", c.vfwebqq, c.psessionid), refD1)
		}, 100001},
		{"online buddies wrong psessionid", func() map[string]any {
			return c.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=53999199&psessionid=x&t=1", c.vfwebqq), refD1)
		}, 103},
		{"discus list wrong psessionid", func() map[string]any {
			return c.getJSON(fmt.Sprintf("/api/get_discus_list?clientid=53999199&psessionid=x&vfwebqq=%s&t=1", c.vfwebqq), refS)
		}, 100000},
		{"login2 wrong clientid", func() map[string]any {
			return c.postR("/channel/login2", refD1, map[string]any{"clientid": 1, "psessionid": nil, "ptwebqq": "", "status": "online"})
		}, 100001},
		{"login2 wrong referer", func() map[string]any {
			return c.postR("/channel/login2", refS, map[string]any{"clientid": clientID, "psessionid": nil, "ptwebqq": "", "status": "online"})
		}, 100001},
		{"login2 unknown status", func() map[string]any {
			return c.postR("/channel/login2", refD1, map[string]any{"clientid": clientID, "psessionid": nil, "ptwebqq": "", "status": "dancing"})
		}, 100001},
		{"poll2 wrong psessionid", func() map[string]any {
			return c.postR("/channel/poll2", refD1, map[string]any{"clientid": clientID, "key": "", "psessionid": "x", "ptwebqq": ""})
		}, 103},
		{"poll2 wrong referer", func() map[string]any {
			return c.postR("/channel/poll2", refS, map[string]any{"clientid": clientID, "key": "", "psessionid": c.psessionid, "ptwebqq": ""})
		}, 100001},
		{"poll2 clientid as a string", func() map[string]any {
			return c.postR("/channel/poll2", refD1, map[string]any{"clientid": "1", "key": "", "psessionid": c.psessionid, "ptwebqq": ""})
		}, 100001},
	}
	for _, tc := range cases {
		if got := rc(t, tc.do()); got != tc.wantRC {
			t.Errorf("%s: retcode %d, want %d", tc.name, got, tc.wantRC)
		}
	}
}

// Without the login cookies every model call fails, whatever the tokens.
func TestCallsNeedTheLoginCookies(t *testing.T) {
	srv, c := loggedIn(t, Options{})
	stranger := newClient(t, srv)
	m := stranger.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})
	if rc(t, m) != 100000 {
		t.Fatalf("friends without cookies: %v", m)
	}
	m = stranger.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", c.vfwebqq, c.psessionid), refD1)
	if rc(t, m) != 100001 {
		t.Fatalf("online buddies without cookies: %v", m)
	}
}

func TestContactsMatchTheWorld(t *testing.T) {
	srv, c := loggedIn(t, Options{Seed: 11, Friends: 30, Groups: 3, MembersPerGroup: 9, Discusses: 2, DiscussMembers: 4})
	w := srv.World()

	self := c.getJSON("/api/get_self_info2?t=1", refS)["result"].(map[string]any)
	if num(t, self["uin"]) != w.Self.ID || num(t, self["account"]) != w.Self.UID || self["nick"] != escapeName(w.Self.Nick) {
		t.Fatalf("self info %v", self)
	}

	res := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
	friends, info := res["friends"].([]any), res["info"].([]any)
	if len(friends) != len(w.Friends) || len(info) != len(w.Friends) || len(res["vipinfo"].([]any)) != len(w.Friends) {
		t.Fatalf("%d friends, %d info for %d", len(friends), len(info), len(w.Friends))
	}
	marks := 0
	for _, f := range w.Friends {
		if f.Markname != "" {
			marks++
		}
	}
	if len(res["marknames"].([]any)) != marks {
		t.Fatalf("marknames %v, want %d", res["marknames"], marks)
	}
	for _, cat := range res["categories"].([]any) {
		if num(t, cat.(map[string]any)["index"]) == 0 {
			t.Fatal("category 0 listed")
		}
	}
	first := friends[0].(map[string]any)
	if num(t, first["uin"]) != w.Friends[0].ID || num(t, first["categories"]) != int64(w.Friends[0].Category) {
		t.Fatalf("first friend %v vs %+v", first, w.Friends[0])
	}

	online := c.getJSON(fmt.Sprintf("/channel/get_online_buddies2?vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", c.vfwebqq, c.psessionid), refD1)["result"].([]any)
	wantOnline := 0
	for _, f := range w.Friends {
		if f.Status != "offline" {
			wantOnline++
		}
	}
	if len(online) != wantOnline {
		t.Fatalf("%d online, want %d", len(online), wantOnline)
	}

	gl := c.postR("/api/get_group_name_list_mask2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
	names := gl["gnamelist"].([]any)
	if len(names) != len(w.Groups) {
		t.Fatalf("gnamelist %v", names)
	}
	for i, g := range w.Groups {
		e := names[i].(map[string]any)
		if num(t, e["gid"]) != g.ID || num(t, e["code"]) != g.Code {
			t.Fatalf("group %d: %v vs %+v", i, e, g)
		}
		info := c.getJSON(fmt.Sprintf("/api/get_group_info_ext2?gcode=%d&vfwebqq=%s&t=1", g.Code, c.vfwebqq), refS)["result"].(map[string]any)
		ginfo := info["ginfo"].(map[string]any)
		if num(t, ginfo["gid"]) != g.ID || num(t, ginfo["owner"]) != g.OwnerID || len(info["minfo"].([]any)) != len(g.Members) {
			t.Fatalf("group info %v vs %+v", ginfo, g)
		}
		cards := 0
		for _, m := range g.Members {
			if m.Card != "" {
				cards++
			}
		}
		if len(info["cards"].([]any)) != cards {
			t.Fatalf("cards %v, want %d", info["cards"], cards)
		}
	}
	if m := c.getJSON(fmt.Sprintf("/api/get_group_info_ext2?gcode=1&vfwebqq=%s&t=1", c.vfwebqq), refS); rc(t, m) != 6 {
		t.Fatalf("unknown gcode: %v", m)
	}

	dl := c.getJSON(fmt.Sprintf("/api/get_discus_list?clientid=53999199&psessionid=%s&vfwebqq=%s&t=1", c.psessionid, c.vfwebqq), refS)
	if len(dl["result"].(map[string]any)["dnamelist"].([]any)) != len(w.Discusses) {
		t.Fatalf("discus list %v", dl)
	}
	d := w.Discusses[0]
	di := c.getJSON(fmt.Sprintf("/channel/get_discu_info?did=%d&vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", d.ID, c.vfwebqq, c.psessionid), refD1)["result"].(map[string]any)
	mems := di["info"].(map[string]any)["mem_list"].([]any)
	if len(mems) != len(d.Members) {
		t.Fatalf("mem_list %v", mems)
	}
	for i, m := range mems {
		mm := m.(map[string]any)
		if num(t, mm["mem_uin"]) != d.Members[i].ID || num(t, mm["ruin"]) != d.Members[i].UID {
			t.Fatalf("member %v vs %+v", mm, d.Members[i])
		}
	}
}

func TestNamesAreHTMLEscaped(t *testing.T) {
	srv, c := loggedIn(t, Options{Friends: -1})
	if _, err := srv.AddFriend(Friend{Nick: "A&B <c>"}); err != nil {
		t.Fatal(err)
	}
	res := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
	if nick := res["info"].([]any)[0].(map[string]any)["nick"]; nick != "A&amp;B &lt;c&gt;" {
		t.Fatalf("nick %q", nick)
	}
}

func TestLargeWorldOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("large world skipped in -short mode")
	}
	srv, c := loggedIn(t, Options{Friends: 5000, Groups: 500, MembersPerGroup: 500})
	res := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
	if len(res["friends"].([]any)) != 5000 {
		t.Fatal("not 5000 friends")
	}
	g := srv.World().Groups[499]
	info := c.getJSON(fmt.Sprintf("/api/get_group_info_ext2?gcode=%d&vfwebqq=%s&t=1", g.Code, c.vfwebqq), refS)["result"].(map[string]any)
	if len(info["minfo"].([]any)) != 500 {
		t.Fatal("not 500 members")
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	for _, p := range []string{"/api/get_friend_uin2?tuin=1&type=1&vfwebqq=&t=1", "/nothing"} {
		if code, _ := c.get(p, refS); code != http.StatusNotFound {
			t.Errorf("%s: %d", p, code)
		}
	}
	if code, _ := c.get("/channel/poll2", refD1); code != http.StatusMethodNotAllowed {
		t.Errorf("GET poll2: %d", code)
	}
}
