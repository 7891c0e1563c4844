package sandbox

import (
	"fmt"
	"testing"
)

const sendFont = `["font",{"name":"宋体","size":10,"style":[0,0,0],"color":"000000"}]`

// sendR is the r of a send call (spec §19.1) with the given target fields.
func (c *client) sendR(content string, target map[string]any) map[string]any {
	r := map[string]any{"clientid": clientID, "content": content, "face": 570, "msg_id": 23910328, "psessionid": c.psessionid}
	for k, v := range target {
		r[k] = v
	}
	return r
}

func TestSendsAreRecorded(t *testing.T) {
	srv, c := loggedIn(t, Options{Seed: 9})
	w := srv.World()
	f, g, d := w.Friends[0], w.Groups[0], w.Discusses[0]
	content := `["hi",["face",14],"!",` + sendFont + `]`
	for _, s := range []struct {
		path   string
		target map[string]any
	}{
		{"/channel/send_buddy_msg2", map[string]any{"to": f.ID}},
		{"/channel/send_qun_msg2", map[string]any{"group_uin": g.ID}},
		{"/channel/send_discu_msg2", map[string]any{"did": d.ID}},
	} {
		m := c.postR(s.path, refD1, c.sendR(content, s.target))
		if num(t, m["errCode"]) != 0 || m["msg"] != "send ok" {
			t.Fatalf("%s: %v", s.path, m)
		}
	}
	sent := srv.Sent()
	if len(sent) != 3 {
		t.Fatalf("sent %+v", sent)
	}
	for i, want := range []struct {
		typ string
		to  int64
	}{{"friend", f.ID}, {"group", g.ID}, {"discuss", d.ID}} {
		s := sent[i]
		if s.Type != want.typ || s.To != want.to || s.Text != "hi[微笑]!" || s.MsgID != 23910328 || s.Face != 570 || string(s.Content) != content {
			t.Errorf("sent[%d] = %+v", i, s)
		}
	}
}

func TestSessSendNeedsTheSig(t *testing.T) {
	srv, c := loggedIn(t, Options{})
	w := srv.World()
	g := w.Groups[0]
	var mb Member
	for _, m := range g.Members {
		if m.ID != w.Self.ID {
			mb = m
		}
	}
	sigPath := func(id, to, st int64) string {
		return fmt.Sprintf("/channel/get_c2cmsg_sig2?id=%d&to_uin=%d&service_type=%d&clientid=53999199&psessionid=%s&t=1", id, to, st, c.psessionid)
	}
	res := c.getJSON(sigPath(g.ID, mb.ID, 0), refD1)["result"].(map[string]any)
	sig, _ := res["value"].(string)
	if sig == "" {
		t.Fatalf("no sig: %v", res)
	}
	if again := c.getJSON(sigPath(g.ID, mb.ID, 0), refD1)["result"].(map[string]any)["value"]; again != sig {
		t.Fatal("the sig changed within the session")
	}
	if none := c.getJSON(sigPath(g.ID, mb.ID, 1), refD1)["result"].(map[string]any)["value"]; none != "" {
		t.Fatalf("a discussion sig for a group member: %v", none)
	}
	content := `["psst",` + sendFont + `]`
	m := c.postR("/channel/send_sess_msg2", refD1, c.sendR(content, map[string]any{"to": mb.ID, "group_sig": sig, "service_type": 0}))
	if rc(t, m) != 0 || m["result"] != "ok" {
		t.Fatalf("sess send: %v", m)
	}
	for _, bad := range []map[string]any{
		{"to": mb.ID, "group_sig": "nope", "service_type": 0},
		{"to": mb.ID, "group_sig": sig, "service_type": 1},
		{"to": mb.ID + 1, "group_sig": sig, "service_type": 0},
	} {
		if m := c.postR("/channel/send_sess_msg2", refD1, c.sendR(content, bad)); rc(t, m) != 100001 {
			t.Errorf("sess send %v: %v", bad, m)
		}
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].Type != "sess" || sent[0].To != mb.ID || sent[0].Via != g.ID || sent[0].Text != "psst" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestSendValidation(t *testing.T) {
	srv, c := loggedIn(t, Options{})
	f := srv.World().Friends[0]
	for _, tc := range []struct {
		name    string
		referer string
		r       map[string]any
		want    int64
	}{
		{"font not last", refD1, c.sendR(`[`+sendFont+`,"hi"]`, map[string]any{"to": f.ID}), 100001},
		{"font only", refD1, c.sendR(`[`+sendFont+`]`, map[string]any{"to": f.ID}), 100001},
		{"font without size", refD1, c.sendR(`["hi",["font",{"name":"宋体","style":[0,0,0],"color":"000000"}]]`, map[string]any{"to": f.ID}), 100001},
		{"content not a JSON string of an array", refD1, c.sendR(`hi`, map[string]any{"to": f.ID}), 100001},
		{"unknown element", refD1, c.sendR(`[["cface",{}],`+sendFont+`]`, map[string]any{"to": f.ID}), 100001},
		{"unknown friend", refD1, c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": 1}), 100001},
		{"wrong referer", refS, c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": f.ID}), 100001},
		{"wrong psessionid", refD1, c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": f.ID, "psessionid": "x"}), 103},
		{"wrong clientid", refD1, c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": f.ID, "clientid": 1}), 100001},
	} {
		if m := c.postR("/channel/send_buddy_msg2", tc.referer, tc.r); rc(t, m) != tc.want {
			t.Errorf("%s: %v, want retcode %d", tc.name, m, tc.want)
		}
	}
	if len(srv.Sent()) != 0 {
		t.Fatalf("recorded %+v", srv.Sent())
	}
}

func TestFailSend(t *testing.T) {
	srv, c := loggedIn(t, Options{})
	f := srv.World().Friends[0]
	r := c.sendR(`["hi",`+sendFont+`]`, map[string]any{"to": f.ID})
	if err := srv.FailSend(1202, 2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if m := c.postR("/channel/send_buddy_msg2", refD1, r); rc(t, m) != 1202 {
			t.Fatalf("failed send: %v", m)
		}
	}
	if m := c.postR("/channel/send_buddy_msg2", refD1, r); num(t, m["errCode"]) != 0 {
		t.Fatalf("third send: %v", m)
	}
	if err := srv.FailSend(100100, 1); err != nil {
		t.Fatal(err)
	}
	if m := c.postR("/channel/send_buddy_msg2", refD1, r); rc(t, m) != 100100 || m["errmsg"] != "error!!!" {
		t.Fatalf("100100 send: %v", m)
	}
	if len(srv.Sent()) != 1 {
		t.Fatalf("sent %+v", srv.Sent())
	}
	if srv.FailSend(0, 1) == nil || srv.FailSend(1202, -1) == nil {
		t.Fatal("bad FailSend accepted")
	}
	// A dead session answers its retcode to sends too.
	if err := srv.ExpireSession(100000); err != nil {
		t.Fatal(err)
	}
	if m := c.postR("/channel/send_buddy_msg2", refD1, r); rc(t, m) != 100000 {
		t.Fatalf("send after expiry: %v", m)
	}
}
