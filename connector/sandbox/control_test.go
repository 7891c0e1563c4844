package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// control calls the JSON control API.
func control(t *testing.T, srv *Server, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func TestControlAPILogin(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := newClient(t, srv)
	c.showQR()
	if code := control(t, srv, "POST", "/sandbox/scan", "", nil); code != 200 {
		t.Fatalf("scan: %d", code)
	}
	if q := c.pollQR(); q[0] != "67" {
		t.Fatalf("after /sandbox/scan: %q", q)
	}
	var ok map[string]any
	if code := control(t, srv, "POST", "/sandbox/confirm", "", &ok); code != 200 || ok["ok"] != true {
		t.Fatalf("confirm: %d %v", code, ok)
	}
	q := c.pollQR()
	if q[0] != "0" {
		t.Fatalf("after /sandbox/confirm: %q", q)
	}
	c.finishLogin(q[2])
	var st State
	control(t, srv, "GET", "/sandbox/state", "", &st)
	if !st.LoggedIn || st.QR != "used" {
		t.Fatalf("state %+v", st)
	}
}

func TestControlAPIMessagesAndRecords(t *testing.T) {
	srv, c := extReady(t, Options{Seed: 2, Groups: 6, MembersPerGroup: 30, PollHold: time.Minute})
	var w World
	if code := control(t, srv, "GET", "/sandbox/world", "", &w); code != 200 || !reflect.DeepEqual(w, srv.World()) {
		t.Fatalf("world: %d", code)
	}
	var out struct {
		OK    bool  `json:"ok"`
		MsgID int64 `json:"msg_id"`
		Error string
	}
	g := w.Groups[0]
	body := fmt.Sprintf(`{"type":"group","group":%d,"from":%d,"text":"早[太阳]"}`, g.ID, g.Members[1].ID)
	if code := control(t, srv, "POST", "/sandbox/messages", body, &out); code != 200 || !out.OK || out.MsgID == 0 {
		t.Fatalf("messages: %d %+v", code, out)
	}
	evs := pollResult(t, c)
	if len(evs) != 1 || num(t, evs[0]["value"].(map[string]any)["msg_id"]) != out.MsgID {
		t.Fatalf("events %v", evs)
	}
	if code := control(t, srv, "POST", "/sandbox/messages", `{"type":"friend","from":1,"text":"x"}`, &out); code != 404 || out.Error == "" {
		t.Fatalf("unknown sender: %d %+v", code, out)
	}
	if code := control(t, srv, "POST", "/sandbox/messages", `{"type":`, nil); code != 400 {
		t.Fatalf("bad JSON: %d", code)
	}

	// Records: a send, a kick and a mute show up under /sandbox/.
	c.postR("/channel/send_buddy_msg2", refD1, c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": w.Friends[0].ID}))
	managed, _ := w.GroupWithRole("manage")
	plain, _ := managed.MemberWithRole("member", w.Self.ID)
	c.ext("/cgi-bin/qun_info/set_group_shutup", refQInfo3, map[string][]string{"gc": {fmt.Sprint(managed.UID)}, "shutup_list": {fmt.Sprintf(`[{"uin":%d,"t":60}]`, plain.UID)}})
	c.ext("/cgi-bin/qun_mgr/delete_group_member", refQun, map[string][]string{"gc": {fmt.Sprint(managed.UID)}, "ul": {fmt.Sprint(plain.UID)}})
	var sent []SentMessage
	var kicks []Kick
	var mutes []Mute
	control(t, srv, "GET", "/sandbox/sent", "", &sent)
	control(t, srv, "GET", "/sandbox/kicks", "", &kicks)
	control(t, srv, "GET", "/sandbox/mutes", "", &mutes)
	if len(sent) != 1 || sent[0].Text != "hi" || len(kicks) != 1 || kicks[0].MemberUID != plain.UID || len(mutes) != 1 || mutes[0].Seconds != 60 {
		t.Fatalf("sent %+v kicks %+v mutes %+v", sent, kicks, mutes)
	}

	// Reset forgets it all and ends the login.
	control(t, srv, "POST", "/sandbox/reset", "", nil)
	control(t, srv, "GET", "/sandbox/sent", "", &sent)
	if len(sent) != 0 || srv.State().LoggedIn {
		t.Fatalf("after reset: sent %+v state %+v", sent, srv.State())
	}
	if m := c.pollJSON(); rc(t, m) != 103 {
		t.Fatalf("poll after reset: %v", m)
	}
}

func TestControlAPIScripts(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})
	f := srv.World().Friends[0]
	for _, call := range []struct{ path, body string }{
		{"/sandbox/fail_poll", `{"status":504}`},
		{"/sandbox/update_ptwebqq", ``},
		{"/sandbox/relink", ``},
	} {
		if code := control(t, srv, "POST", call.path, call.body, nil); code != 200 {
			t.Fatalf("%s: %d", call.path, code)
		}
	}
	if code, _ := c.poll(); code != 504 {
		t.Fatalf("poll: %d", code)
	}
	m := c.pollJSON()
	if rc(t, m) != 116 {
		t.Fatalf("poll: %v", m)
	}
	c.ptwebqq = m["p"].(string)
	if m := c.pollJSON(); rc(t, m) != 121 {
		t.Fatalf("poll: %v", m)
	}
	if code := control(t, srv, "POST", "/sandbox/fail_poll", `{"status":200}`, nil); code != 400 {
		t.Fatalf("fail_poll 200: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/fail_send", `{"retcode":100001,"n":1}`, nil); code != 200 {
		t.Fatalf("fail_send: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/status", fmt.Sprintf(`{"id":%d,"status":"away","client_type":24}`, f.ID), nil); code != 200 {
		t.Fatalf("status: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/kick_offline", `{"reason":"bye"}`, nil); code != 200 {
		t.Fatalf("kick_offline: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/expire_session", `{"retcode":100000}`, nil); code != 200 {
		t.Fatalf("expire_session: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/kick_offline", `{}`, nil); code != 400 {
		t.Fatalf("kick_offline on a dead session: %d", code)
	}
	var key map[string]string
	if control(t, srv, "GET", "/sandbox/rsa_key", "", &key); key["e"] != "10001" || len(key["n"]) != 512 {
		t.Fatalf("rsa_key %v", key)
	}
}

// Membership changes over the control API show up in the contact calls.
func TestControlAPIMembership(t *testing.T) {
	srv, c := loggedIn(t, Options{Friends: 2, Groups: 1, MembersPerGroup: 3, Discusses: 1, DiscussMembers: 2})
	var added struct {
		Friend  Friend        `json:"friend"`
		Group   Group         `json:"group"`
		Discuss Discuss       `json:"discuss"`
		Member  DiscussMember `json:"member"`
	}
	if code := control(t, srv, "POST", "/sandbox/friends", `{"nick":"新朋友","category":2,"markname":"小新"}`, &added); code != 200 || added.Friend.ID == 0 {
		t.Fatalf("add friend: %d %+v", code, added)
	}
	friendsCall := func() int {
		res := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
		return len(res["friends"].([]any))
	}
	if n := friendsCall(); n != 3 {
		t.Fatalf("%d friends after adding one", n)
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/friends/%d", added.Friend.ID), "", nil); code != 200 {
		t.Fatalf("remove friend: %d", code)
	}
	if n := friendsCall(); n != 2 {
		t.Fatalf("%d friends after removing one", n)
	}
	if code := control(t, srv, "DELETE", "/sandbox/friends/1", "", nil); code != 404 {
		t.Fatalf("remove unknown friend: %d", code)
	}

	if code := control(t, srv, "POST", "/sandbox/groups", `{"name":"新群","role":"manage","members":[{"nick":"甲"},{"nick":"乙","role":"owner"}]}`, &added); code != 200 {
		t.Fatalf("add group: %d", code)
	}
	ng := added.Group
	if len(ng.Members) != 3 || ng.Role != "manage" || ng.OwnerID == srv.World().Self.ID {
		t.Fatalf("new group %+v", ng)
	}
	gl := c.postR("/api/get_group_name_list_mask2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq})["result"].(map[string]any)
	if len(gl["gnamelist"].([]any)) != 2 {
		t.Fatalf("gnamelist %v", gl)
	}
	if code := control(t, srv, "POST", fmt.Sprintf("/sandbox/groups/%d/members", ng.ID), `{"nick":"丙","card":"丙丙"}`, &added); code != 200 {
		t.Fatalf("add member: %d", code)
	}
	info := c.getJSON(fmt.Sprintf("/api/get_group_info_ext2?gcode=%d&vfwebqq=%s&t=1", ng.Code, c.vfwebqq), refS)["result"].(map[string]any)
	if len(info["minfo"].([]any)) != 4 {
		t.Fatalf("minfo %v", info["minfo"])
	}
	if code := control(t, srv, "POST", "/sandbox/groups/1/members", `{}`, nil); code != 404 {
		t.Fatalf("member of unknown group: %d", code)
	}
	if code := control(t, srv, "POST", "/sandbox/groups", `{"role":"boss"}`, nil); code != 400 {
		t.Fatalf("bad role: %d", code)
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/groups/%d/members/%d", ng.ID, ng.Members[1].ID), "", nil); code != 200 {
		t.Fatalf("remove member: %d", code)
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/groups/%d/members/%d", ng.ID, srv.World().Self.ID), "", nil); code != 400 {
		t.Fatalf("remove self: %d", code)
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/groups/%d", ng.ID), "", nil); code != 200 {
		t.Fatalf("remove group: %d", code)
	}

	w := srv.World()
	friend := w.Friends[0]
	if code := control(t, srv, "POST", "/sandbox/discusses", fmt.Sprintf(`{"name":"小组","members":[{"id":%d}]}`, friend.ID), &added); code != 200 {
		t.Fatalf("add discussion: %d", code)
	}
	nd := added.Discuss
	if len(nd.Members) != 2 || nd.Members[1].UID != friend.UID || nd.OwnerID != w.Self.ID {
		t.Fatalf("new discussion %+v", nd)
	}
	if code := control(t, srv, "POST", fmt.Sprintf("/sandbox/discusses/%d/members", nd.ID), `{"nick":"丁"}`, &added); code != 200 || added.Member.Nick != "丁" {
		t.Fatalf("add discussion member: %d %+v", code, added.Member)
	}
	di := c.getJSON(fmt.Sprintf("/channel/get_discu_info?did=%d&vfwebqq=%s&clientid=53999199&psessionid=%s&t=1", nd.ID, c.vfwebqq, c.psessionid), refD1)["result"].(map[string]any)
	if len(di["mem_info"].([]any)) != 3 {
		t.Fatalf("mem_info %v", di["mem_info"])
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/discusses/%d/members/%d", nd.ID, added.Member.ID), "", nil); code != 200 {
		t.Fatalf("remove discussion member: %d", code)
	}
	if code := control(t, srv, "DELETE", fmt.Sprintf("/sandbox/discusses/%d", nd.ID), "", nil); code != 200 {
		t.Fatalf("remove discussion: %d", code)
	}
	if got := srv.World(); len(got.Discusses) != 1 || len(got.Groups) != 1 {
		t.Fatalf("world after removals: %d discussions, %d groups", len(got.Discusses), len(got.Groups))
	}
}
