package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pollResult polls once and returns the result array of a retcode 0 answer.
func pollResult(t *testing.T, c *client) []map[string]any {
	t.Helper()
	m := c.pollJSON()
	if rc(t, m) != 0 {
		t.Fatalf("poll2: %v", m)
	}
	var out []map[string]any
	for _, e := range m["result"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func TestPollIdleAnswers102(t *testing.T) {
	_, c := loggedIn(t, Options{PollHold: 20 * time.Millisecond})
	if m := c.pollJSON(); rc(t, m) != 102 {
		t.Fatalf("idle poll: %v", m)
	}
}

func TestPollDeliversQueuedMessages(t *testing.T) {
	srv, c := loggedIn(t, Options{Seed: 5, PollHold: time.Minute})
	w := srv.World()
	f, g, d := w.Friends[0], w.Groups[1], w.Discusses[0]
	sender := g.Members[len(g.Members)-1]
	if sender.ID == w.Self.ID {
		sender = g.Members[0]
	}
	dm := d.Members[1]
	ids := make([]int64, 0, 5)
	for _, msg := range []Message{
		{Type: MessageFriend, From: f.ID, Text: "你好[微笑]world"},
		{Type: MessageGroup, Group: g.ID, From: sender.ID, Text: "a<b & c\nnext"},
		{Type: MessageDiscuss, Discuss: d.ID, From: dm.ID, Text: "[强][强]"},
		{Type: MessageSess, Group: g.ID, From: sender.ID, Text: "悄悄话"},
		{Type: MessageFriend, From: f.ID, Content: json.RawMessage(`[["font",{"name":"宋体"}]]`)},
	} {
		id, err := srv.Push(msg)
		if err != nil {
			t.Fatalf("Push(%+v): %v", msg, err)
		}
		ids = append(ids, id)
	}
	if srv.State().Queued != 5 {
		t.Fatalf("state %+v", srv.State())
	}
	evs := pollResult(t, c)
	if len(evs) != 5 {
		t.Fatalf("%d events", len(evs))
	}
	want := []struct {
		pollType string
		from     int64
		content  string
	}{
		{"message", f.ID, `[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],"你好",["face",14],"world"]`},
		{"group_message", g.ID, `[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],"a&lt;b &amp; c\r\nnext"]`},
		{"discu_message", d.ID, `[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],["face",46],["face",46]]`},
		{"sess_message", sender.ID, `[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],"悄悄话"]`},
		{"message", f.ID, `[["font",{"name":"宋体"}]]`},
	}
	for i, e := range evs {
		v := e["value"].(map[string]any)
		content := rawJSON(t, v["content"])
		if e["poll_type"] != want[i].pollType || num(t, v["from_uin"]) != want[i].from ||
			num(t, v["msg_id"]) != ids[i] || num(t, v["to_uin"]) != w.Self.ID || string(content) != want[i].content {
			t.Errorf("event %d: %v\ncontent %s", i, e, content)
		}
	}
	if v := evs[1]["value"].(map[string]any); num(t, v["send_uin"]) != sender.ID || num(t, v["group_code"]) != g.Code {
		t.Errorf("group message %v", v)
	}
	if v := evs[2]["value"].(map[string]any); num(t, v["did"]) != d.ID || num(t, v["send_uin"]) != dm.ID {
		t.Errorf("discuss message %v", v)
	}
	if v := evs[3]["value"].(map[string]any); num(t, v["id"]) != g.ID || num(t, v["service_type"]) != 0 {
		t.Errorf("sess message %v", v)
	}
}

func TestPushRejectsStrangers(t *testing.T) {
	srv := newTestServer(t, Options{})
	w := srv.World()
	g := w.Groups[0]
	for _, msg := range []Message{
		{Type: MessageFriend, From: 1, Text: "x"},
		{Type: MessageGroup, Group: g.ID, From: w.Friends[0].ID + 1, Text: "x"},
		{Type: MessageDiscuss, Discuss: 1, From: w.Self.ID, Text: "x"},
		{Type: MessageSess, Group: g.ID, From: w.Self.ID, Text: "x"},
		{Type: MessageSess, From: g.Members[1].ID, Text: "x"},
		{Type: MessageFriend, From: w.Friends[0].ID},
		{Type: MessageFriend, From: w.Friends[0].ID, Content: json.RawMessage(`{"a":1}`)},
		{Type: "nope", From: w.Friends[0].ID, Text: "x"},
	} {
		if _, err := srv.Push(msg); err == nil {
			t.Errorf("Push(%+v) accepted", msg)
		}
	}
}

func TestPollWakesOnPush(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})
	f := srv.World().Friends[0]
	done := make(chan []map[string]any)
	go func() { done <- pollResult(t, c) }()
	waitHeld(t, srv, 1)
	if _, err := srv.Push(Message{Type: MessageFriend, From: f.ID, Text: "wake up"}); err != nil {
		t.Fatal(err)
	}
	evs := <-done
	if len(evs) != 1 || evs[0]["poll_type"] != "message" {
		t.Fatalf("events %v", evs)
	}
}

// A second poll2 of the session ends the held one (102).
func TestSecondPollEndsTheFirst(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})
	first := make(chan map[string]any)
	go func() { first <- c.pollJSON() }()
	waitHeld(t, srv, 1)
	second := make(chan map[string]any)
	go func() { second <- c.pollJSON() }()
	if m := <-first; rc(t, m) != 102 {
		t.Fatalf("first poll: %v", m)
	}
	waitHeld(t, srv, 1)
	if _, err := srv.Push(Message{Type: MessageFriend, From: srv.World().Friends[0].ID, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if m := <-second; rc(t, m) != 0 {
		t.Fatalf("second poll: %v", m)
	}
}

func TestCloseEndsAHeldPoll(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Hour})
	done := make(chan map[string]any)
	go func() { done <- c.pollJSON() }()
	waitHeld(t, srv, 1)
	srv.Close()
	if m := <-done; rc(t, m) != 102 {
		t.Fatalf("poll at Close: %v", m)
	}
	srv.Close() // twice is fine
}

func TestScriptedPollRetcodes(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})

	// 502 and 504: HTTP errors, once each, in order.
	for _, status := range []int{502, 504} {
		if err := srv.FailPoll(status); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{502, 504} {
		if code, body := c.poll(); code != want || !strings.Contains(body, fmt.Sprint(want)) {
			t.Fatalf("poll: %d %q, want %d", code, body, want)
		}
	}
	if srv.FailPoll(200) == nil {
		t.Fatal("FailPoll(200) accepted")
	}

	// 116: a new ptwebqq, which later polls and the list hash must use.
	p := srv.UpdatePtwebqq()
	if m := c.pollJSON(); rc(t, m) != 116 || m["p"] != p {
		t.Fatalf("116 poll: %v", m)
	}
	if m := c.pollJSON(); rc(t, m) != 116 || m["p"] != p {
		t.Fatalf("poll with the old ptwebqq: %v", m)
	}
	oldHash := c.hash()
	c.ptwebqq = p
	if m := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": oldHash, "vfwebqq": c.vfwebqq}); rc(t, m) != 50 {
		t.Fatalf("old hash after 116: %v", m)
	}
	if m := c.postR("/api/get_user_friends2", refS, map[string]any{"hash": c.hash(), "vfwebqq": c.vfwebqq}); rc(t, m) != 0 {
		t.Fatalf("new hash after 116: %v", m)
	}

	// 121 until a login2 with key re-links; the old psessionid is then gone.
	srv.Relink()
	for range 2 {
		if m := c.pollJSON(); rc(t, m) != 121 {
			t.Fatalf("relink poll: %v", m)
		}
	}
	m := c.postR("/channel/login2", refD1, map[string]any{"clientid": clientID, "key": "", "psessionid": c.psessionid, "ptwebqq": c.ptwebqq, "status": "online"})
	if rc(t, m) != 0 {
		t.Fatalf("relink login2: %v", m)
	}
	old := c.psessionid
	c.psessionid = m["result"].(map[string]any)["psessionid"].(string)
	if c.psessionid == old {
		t.Fatal("relink kept the psessionid")
	}
	if _, err := srv.Push(Message{Type: MessageFriend, From: srv.World().Friends[0].ID, Text: "back"}); err != nil {
		t.Fatal(err)
	}
	if evs := pollResult(t, c); len(evs) != 1 {
		t.Fatalf("after relink: %v", evs)
	}

	// ExpireSession: 103 from then on.
	if err := srv.ExpireSession(103); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if m := c.pollJSON(); rc(t, m) != 103 {
			t.Fatalf("expired poll: %v", m)
		}
	}
}

// A scripted answer reaches a poll that is already held.
func TestScriptWakesAHeldPoll(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Hour})
	done := make(chan int)
	go func() { code, _ := c.poll(); done <- code }()
	waitHeld(t, srv, 1)
	if err := srv.FailPoll(http.StatusBadGateway); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != http.StatusBadGateway {
		t.Fatalf("held poll: %d", code)
	}
}

func TestKickOffline(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})
	if err := srv.KickOffline("被踢了"); err != nil {
		t.Fatal(err)
	}
	evs := pollResult(t, c)
	v := evs[0]["value"].(map[string]any)
	if len(evs) != 1 || evs[0]["poll_type"] != "kick_message" || v["reason"] != "被踢了" || num(t, v["show_reason"]) != 1 {
		t.Fatalf("kick: %v", evs)
	}
	if m := c.pollJSON(); rc(t, m) != 103 {
		t.Fatalf("after the kick: %v", m)
	}
	if srv.KickOffline("") == nil {
		t.Fatal("kicked a dead session")
	}
}

func TestStatusChangeAndGroupFile(t *testing.T) {
	srv, c := loggedIn(t, Options{PollHold: time.Minute})
	w := srv.World()
	f, g := w.Friends[0], w.Groups[0]
	if err := srv.SetStatus(f.ID, "busy", 21); err != nil {
		t.Fatal(err)
	}
	if srv.SetStatus(f.ID, "dancing", 1) == nil || srv.SetStatus(1, "online", 1) == nil {
		t.Fatal("bad SetStatus accepted")
	}
	uploader := g.Members[1]
	if _, err := srv.PushGroupFile(g.ID, uploader.ID, "报告.pdf"); err != nil {
		t.Fatal(err)
	}
	evs := pollResult(t, c)
	if len(evs) != 2 {
		t.Fatalf("events %v", evs)
	}
	st := evs[0]["value"].(map[string]any)
	if evs[0]["poll_type"] != "buddies_status_change" || num(t, st["uin"]) != f.ID || st["status"] != "busy" || num(t, st["client_type"]) != 21 {
		t.Fatalf("status change %v", evs[0])
	}
	w = srv.World()
	if nf, _ := w.Friend(f.ID); nf.Status != "busy" {
		t.Fatalf("world friend %+v", nf)
	}
	web := evs[1]["value"].(map[string]any)
	xml, _ := web["xml"].(string)
	if evs[1]["poll_type"] != "group_web_message" || num(t, web["from_uin"]) != g.ID ||
		!strings.Contains(xml, `s="共享文件"`) || !strings.Contains(xml, `s="报告.pdf"`) || !strings.Contains(xml, fmt.Sprintf(`u="%d"`, uploader.UID)) {
		t.Fatalf("group file %v", evs[1])
	}
}

// rawJSON encodes v without HTML escaping, as the sandbox sends it.
func rawJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// Close also ends connections that were dialled but never carried a
// request, instead of waiting for them.
func TestCloseEndsUnusedConnections(t *testing.T) {
	srv := NewServer(Options{Logger: discardLogger()})
	u, _ := url.Parse(srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for srv.connCount() == 0 { // wait until the server has accepted it
		select {
		case <-t.Context().Done():
			t.Fatal("never accepted")
		case <-time.After(time.Millisecond):
		}
	}
	srv.Close()
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from a connection Close should have ended", n)
	}
}

func (s *Server) connCount() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}
