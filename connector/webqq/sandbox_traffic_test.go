package webqq_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
)

// memberName is how messages name a group member: friend markname, card,
// nick (spec §4.4).
func memberName(w sandbox.World, m sandbox.Member) string {
	if f, ok := w.Friend(m.ID); ok && f.Markname != "" {
		return f.Markname
	}
	if m.Card != "" {
		return cut21(m.Card)
	}
	return m.Nick
}

func friendName(f sandbox.Friend) string {
	if f.Markname != "" {
		return f.Markname
	}
	return f.Nick
}

func TestSandboxReceive(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 3}))
	c, _ := login(t, srv, webqq.Options{})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	self := w.Self.ID
	fr := w.Friends[0]
	g := w.Groups[0]
	gm, _ := g.MemberWithRole("member", self)
	d := w.Discusses[0]
	var dm sandbox.DiscussMember
	for _, m := range d.Members {
		if m.ID != self {
			dm = m
		}
	}
	push := func(m sandbox.Message) int64 {
		t.Helper()
		id, err := srv.Push(m)
		if err != nil {
			t.Fatalf("push %+v: %v", m, err)
		}
		return id
	}
	ids := []int64{
		push(sandbox.Message{Type: sandbox.MessageFriend, From: fr.ID, Text: "你好[微笑] a&b <c>\n:joy:", Time: 1500000000}),
		push(sandbox.Message{Type: sandbox.MessageGroup, From: gm.ID, Group: g.ID, Text: "group hi"}),
		push(sandbox.Message{Type: sandbox.MessageDiscuss, From: dm.ID, Discuss: d.ID, Text: "discuss hi"}),
		push(sandbox.Message{Type: sandbox.MessageSess, From: gm.ID, Group: g.ID, Text: "sess via group"}),
		push(sandbox.Message{Type: sandbox.MessageSess, From: dm.ID, Discuss: d.ID, Text: "sess via discuss"}),
		push(sandbox.Message{Type: sandbox.MessageFriend, From: fr.ID, Content: json.RawMessage(`[["font",{"name":"宋体"}]]`)}),
		push(sandbox.Message{Type: sandbox.MessageGroup, From: self, Group: g.ID, Text: "from my phone"}), // dropped
	}
	fileID, err := srv.PushGroupFile(g.ID, gm.ID, "报告.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetStatus(fr.ID, "busy", 21); err != nil {
		t.Fatal(err)
	}
	msgs := pollUntil(t, c, func(m []openqq.Message) bool { return len(m) >= 7 })
	if len(msgs) != 7 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	selfInGroup, _ := g.Member(self)
	want := []openqq.Message{
		{Type: "friend_message", ID: openqq.ID(ids[0]), Time: 1500000000, Content: "你好[微笑] a&b <c>\n[高兴]",
			SenderID: openqq.ID(fr.ID), Sender: friendName(fr)},
		{Type: "group_message", ID: openqq.ID(ids[1]), Content: "group hi", SenderID: openqq.ID(gm.ID), Sender: memberName(w, gm),
			GroupID: openqq.ID(g.ID), Group: g.Name, Receiver: memberName(w, selfInGroup)},
		{Type: "discuss_message", ID: openqq.ID(ids[2]), Content: "discuss hi", SenderID: openqq.ID(dm.ID), Sender: dm.Nick,
			SenderUID: openqq.ID(dm.UID), DiscussID: openqq.ID(d.ID), Discuss: d.Name},
		{Type: "sess_message", ID: openqq.ID(ids[3]), Content: "sess via group", SenderID: openqq.ID(gm.ID), Sender: memberName(w, gm),
			GroupID: openqq.ID(g.ID), Group: g.Name, Via: "group"},
		{Type: "sess_message", ID: openqq.ID(ids[4]), Content: "sess via discuss", SenderID: openqq.ID(dm.ID), Sender: dm.Nick,
			SenderUID: openqq.ID(dm.UID), DiscussID: openqq.ID(d.ID), Discuss: d.Name, Via: "discuss"},
		{Type: "friend_message", ID: openqq.ID(ids[5]), Content: "[图片]", SenderID: openqq.ID(fr.ID), Sender: friendName(fr)},
		{Type: "group_message", ID: openqq.ID(fileID), Content: "共享文件 [报告.pdf]", SenderID: openqq.ID(gm.ID), Sender: memberName(w, gm),
			GroupID: openqq.ID(g.ID), Group: g.Name, Receiver: memberName(w, selfInGroup)},
	}
	for i, m := range msgs {
		wm := want[i]
		wm.Class, wm.ReceiverID, wm.ReceiverUID = "recv", openqq.ID(self), openqq.ID(w.Self.UID)
		if wm.Receiver == "" {
			wm.Receiver = w.Self.Nick
		}
		if wm.Time == 0 {
			wm.Time = m.Time
			if m.Time < openqq.Int(time.Now().Add(-time.Hour).Unix()) {
				t.Errorf("message %d time %d", i, m.Time)
			}
		}
		if m != wm {
			t.Errorf("message %d\n got %+v\nwant %+v", i, m, wm)
		}
	}
	ct, _ := c.Contacts(t.Context())
	if f := ct.Friend(openqq.ID(fr.ID)); f.State != "busy" || f.ClientType != "mobile" {
		t.Errorf("friend after status change %+v", f)
	}
}

func TestSandboxReceiveFromNewContacts(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 5}))
	c, _ := login(t, srv, webqq.Options{})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Contacts added after the load: the client refreshes once to name them.
	nf, err := srv.AddFriend(sandbox.Friend{Nick: "新朋友"})
	if err != nil {
		t.Fatal(err)
	}
	ng, err := srv.AddGroup(sandbox.Group{Name: "新群"})
	if err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	g, _ := w.Group(ng.ID)
	m, _ := g.MemberWithRole("owner", w.Self.ID)
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: nf.ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageGroup, From: m.ID, Group: g.ID, Text: "hello group"}); err != nil {
		t.Fatal(err)
	}
	msgs := pollUntil(t, c, func(m []openqq.Message) bool { return len(m) >= 2 })
	if msgs[0].Sender != "新朋友" || msgs[1].Group != "新群" || msgs[1].Sender != memberName(w, m) {
		t.Errorf("messages from new contacts: %+v", msgs)
	}
}

func TestSandboxSend(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 9}))
	c, _ := login(t, srv, webqq.Options{})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	fr, g, d := w.Friends[0], w.Groups[0], w.Discusses[0]
	gm, _ := g.MemberWithRole("member", w.Self.ID)
	var dm sandbox.DiscussMember
	for _, m := range d.Members {
		if m.ID != w.Self.ID {
			dm = m
		}
	}
	for _, tc := range []struct {
		out         openqq.Outgoing
		kind, text  string
		to, via     int64
		serviceType int
	}{
		{openqq.Outgoing{Type: openqq.FriendMessage, TargetID: openqq.ID(fr.ID), Content: "你好[微笑]<b>"}, "friend", "你好[微笑]＜b＞", fr.ID, 0, 0},
		{openqq.Outgoing{Type: openqq.GroupMessage, TargetID: openqq.ID(g.ID), Content: "大家好[呲牙]"}, "group", "大家好[呲牙]", g.ID, 0, 0},
		{openqq.Outgoing{Type: openqq.DiscussMessage, TargetID: openqq.ID(d.ID), Content: "讨论 a/b"}, "discuss", "讨论 a/b", d.ID, 0, 0},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: openqq.ID(gm.ID), GroupID: openqq.ID(g.ID), Content: "临时"}, "sess", "临时", gm.ID, g.ID, 0},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: openqq.ID(dm.ID), DiscussID: openqq.ID(d.ID), Content: "临时2"}, "sess", "临时2", dm.ID, d.ID, 1},
	} {
		m, err := c.Send(t.Context(), tc.out)
		if err != nil {
			t.Fatalf("send %+v: %v", tc.out, err)
		}
		if m.Code != 0 || m.Msg != "发送成功" || m.Class != "send" || m.Source != "local" {
			t.Errorf("send %s: %+v", tc.kind, m)
		}
		sent := srv.Sent()
		last := sent[len(sent)-1]
		if last.Type != tc.kind || last.To != tc.to || last.Via != tc.via || last.ServiceType != tc.serviceType ||
			last.Text != tc.text || last.MsgID != int64(m.ID) {
			t.Errorf("sandbox recorded %+v for %+v (msg id %d)", last, tc.out, m.ID)
		}
	}
	if n := len(srv.Sent()); n != 5 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestSandboxSendFailures(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 9}))
	c, _ := login(t, srv, webqq.Options{})
	fr := srv.World().Friends[0]
	out := openqq.Outgoing{Type: openqq.FriendMessage, TargetID: openqq.ID(fr.ID), Content: "x"}
	if err := srv.FailSend(100001, 2); err != nil {
		t.Fatal(err)
	}
	m, err := c.Send(t.Context(), out)
	if err != nil || m.Code != 0 || m.TTL != 0 {
		t.Errorf("third attempt should succeed: %+v, %v", m, err)
	}
	if err := srv.FailSend(1202, 1); err != nil {
		t.Fatal(err)
	}
	if m, err = c.Send(t.Context(), out); err != nil || m.Code != 0 || m.Info != "忽略返回值: 1202" || m.TTL != 2 {
		t.Errorf("1202: %+v, %v", m, err)
	}
	if err := srv.FailSend(100003, 3); err != nil {
		t.Fatal(err)
	}
	if m, err = c.Send(t.Context(), out); err != nil || m.Code != -5 || m.Info != "未识别返回值:100003" {
		t.Errorf("three failures: %+v, %v", m, err)
	}
}

func TestSandboxKickAndMute(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 13, Groups: 6, MembersPerGroup: 12, Password: sandboxPassword}))
	c, _ := login(t, srv, webqq.Options{Password: sandboxPassword})
	ct, err := c.Contacts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	g, ok := w.GroupWithRole("manage")
	if !ok {
		g, _ = w.GroupWithRole("create")
	}
	var targets []sandbox.Member
	for _, m := range g.Members {
		if mm := ct.Group(openqq.ID(g.ID)).Member(openqq.ID(m.ID)); m.Role == "member" && mm.UID != 0 && len(targets) < 2 {
			targets = append(targets, m)
		}
	}
	if len(targets) < 2 {
		t.Fatalf("group %d has no two matched plain members", g.ID)
	}
	ids := []openqq.ID{openqq.ID(targets[0].ID), openqq.ID(targets[1].ID)}
	if err := c.Mute(t.Context(), openqq.ID(g.ID), ids, 5*time.Minute); err != nil {
		t.Fatalf("mute: %v", err)
	}
	mutes := srv.Mutes()
	if len(mutes) != 2 || mutes[0].MemberUID != targets[0].UID || mutes[0].Seconds != 300 || mutes[1].GroupUID != g.UID {
		t.Errorf("mutes %+v", mutes)
	}
	if err := c.Kick(t.Context(), openqq.ID(g.ID), ids[:1]); err != nil {
		t.Fatalf("kick: %v", err)
	}
	kicks := srv.Kicks()
	if len(kicks) != 1 || kicks[0].MemberUID != targets[0].UID || kicks[0].GroupUID != g.UID {
		t.Errorf("kicks %+v", kicks)
	}
	if admin, ok := g.MemberWithRole("admin", w.Self.ID); ok {
		if err := c.Mute(t.Context(), openqq.ID(g.ID), []openqq.ID{openqq.ID(admin.ID)}, time.Minute); !errors.Is(err, openqq.ErrFailure) {
			t.Errorf("muting an admin: %v", err)
		}
	}
	if attend, ok := w.GroupWithRole("attend"); ok {
		m, _ := attend.MemberWithRole("member", w.Self.ID)
		if err := c.Kick(t.Context(), openqq.ID(attend.ID), []openqq.ID{openqq.ID(m.ID)}); !errors.Is(err, webqq.ErrNotGroupAdmin) {
			t.Errorf("kick as a plain member: %v", err)
		}
	}
	if len(srv.Kicks()) != 1 || len(srv.Mutes()) != 2 {
		t.Error("a refused kick or mute reached the server")
	}
}

func TestSandboxPollPaths(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{Seed: 21}))
	c, _ := login(t, srv, webqq.Options{})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	fr := srv.World().Friends[0]
	ctx := t.Context()
	step := func(what string, prepare func()) {
		t.Helper()
		prepare()
		if _, err := c.Poll(ctx); err != nil {
			t.Fatalf("%s: poll: %v", what, err)
		}
		// The session still works: a message gets through.
		if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: fr.ID, Text: what}); err != nil {
			t.Fatal(err)
		}
		msgs := pollUntil(t, c, func(m []openqq.Message) bool { return len(m) > 0 })
		if msgs[0].Content != what {
			t.Errorf("%s: got %+v", what, msgs)
		}
	}
	step("116", func() { srv.UpdatePtwebqq() })
	// The lists are hashed with the new ptwebqq.
	if _, err := c.Contacts(ctx); err != nil {
		t.Errorf("contacts after 116: %v", err)
	}
	step("121", srv.Relink)
	step("502", func() { _ = srv.FailPoll(502) })
	step("504", func() { _ = srv.FailPoll(504) })

	if err := srv.KickOffline("另一地点登录"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Poll(ctx); !errors.Is(err, openqq.ErrForcedOffline) || !strings.Contains(err.Error(), "另一地点登录") {
		t.Errorf("kick_message: %v", err)
	}
}
