package connector_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
)

var _ connector.Backend = (*webqq.Client)(nil)

// The sandbox account: a QQ number and the password of its ext login, so
// that kick and mute work.
const (
	sandboxUID      = 2_000_123_456
	sandboxPassword = "sandbox-secret"
)

func newSandbox(t *testing.T) *sandbox.Server {
	srv := sandbox.NewServer(sandbox.Options{
		Seed: 7, SelfUID: sandboxUID, Password: sandboxPassword,
		PollHold: 300 * time.Millisecond, Logger: testLogger(t),
	})
	t.Cleanup(srv.Close)
	return srv
}

// startWebQQ runs a connector on a webqq client of srv, over real HTTP.
func (e *env) startWebQQ(srv *sandbox.Server, opts ...func(*connector.Options)) *runner {
	e.t.Helper()
	client := webqq.New(webqq.Options{
		Endpoint: srv.URL, HTTPClient: srv.Client(),
		Account: fmt.Sprint(sandboxUID), Password: sandboxPassword, PasswordKey: srv.RSAPublicKey(),
		SendInterval: webqq.NoDelay, QRPollInterval: 20 * time.Millisecond, PollPause: webqq.NoDelay,
		Logger: testLogger(e.t),
	})
	o := connector.Options{
		Store: e.db, Backend: client, Account: e.acct, Logger: testLogger(e.t),
		LeaseTTL: 2 * time.Second, HeartbeatInterval: 100 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	r, err := connector.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	h := &runner{Runner: r, cancel: cancel, done: make(chan struct{})}
	go func() { h.err = r.Run(ctx); close(h.done) }()
	e.t.Cleanup(func() { h.stop() })
	return h
}

// scanAndConfirm walks the QR login on the "phone".
func (e *env) scanAndConfirm(srv *sandbox.Server) {
	e.t.Helper()
	e.waitState(openqq.StateScaning)
	srv.ScanQR()
	e.waitState(openqq.StateConfirming)
	srv.ConfirmQR()
	e.waitState(openqq.StateRunning)
}

// The whole path over real HTTP: QR login on the sandbox, the snapshot,
// sends, received messages, kick and mute with the ext login, contact
// changes, a lost session, and a restart that reuses the cookies.
func TestSandboxEndToEnd(t *testing.T) {
	e := newEnv(t)
	srv := newSandbox(t)
	h := e.startWebQQ(srv)
	e.waitState(openqq.StateScaning)
	if png, err := e.db.QRCode(t.Context(), e.acct); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("QR code in redis = %.8q, %v", png, err)
	}
	e.scanAndConfirm(srv)
	want := []string{"loading>scaning", "scaning>confirming", "confirming>updating", "updating>running"}
	if got := e.stateChanges(); !reflect.DeepEqual(got, want) {
		t.Errorf("state changes = %v, want %v", got, want)
	}
	world := srv.World()
	snap, err := e.db.Contacts(t.Context(), e.acct)
	if err != nil || len(snap.Friends) != len(world.Friends) || len(snap.Groups) != len(world.Groups) ||
		len(snap.Discusses) != len(world.Discusses) || snap.User.UID != sandboxUID {
		t.Fatalf("snapshot: %d friends, %d groups, %d discussions (world %d/%d/%d), %v",
			len(snap.Friends), len(snap.Groups), len(snap.Discusses),
			len(world.Friends), len(world.Groups), len(world.Discusses), err)
	}

	// Send and receive.
	friend := world.Friends[0]
	code, body := e.submit(openqq.APISendFriendMessage, map[string]string{"id": fmt.Sprint(friend.ID), "content": "你好[微笑]"})
	if code != 0 || body["status"] != "发送成功" {
		t.Errorf("send = %d %v", code, body)
	}
	if sent := srv.Sent(); len(sent) != 1 || sent[0].To != friend.ID || sent[0].Text != "你好[微笑]" {
		t.Errorf("sandbox got %+v", sent)
	}
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: friend.ID, Text: "在的"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the received message", func() bool {
		for _, p := range e.posts() {
			if p.PostType == openqq.PostReceiveMessage && p.Message.Content == "在的" && p.Message.SenderID == openqq.ID(friend.ID) {
				return true
			}
		}
		return false
	})

	// Kick and mute in a group the account owns.
	g, ok := world.GroupWithRole("create")
	if !ok {
		t.Fatal("no group the account created")
	}
	var victims []sandbox.Member
	for _, m := range g.Members {
		if m.Role == "member" {
			victims = append(victims, m)
		}
	}
	if code, body := e.submit(openqq.APIShutupGroupMember, map[string]string{
		"group_uid": fmt.Sprint(g.UID), "time": "2", "member_uid": fmt.Sprint(victims[0].UID)}); code != 0 {
		t.Errorf("shutup = %d %v", code, body)
	}
	if mutes := srv.Mutes(); len(mutes) != 1 || mutes[0].Seconds != 120 || mutes[0].MemberID != victims[0].ID {
		t.Errorf("sandbox mutes = %+v", mutes)
	}
	if code, body := e.submit(openqq.APIKickGroupMember, map[string]string{
		"group_id": fmt.Sprint(g.ID), "member_id": fmt.Sprint(victims[1].ID)}); code != 0 {
		t.Errorf("kick = %d %v", code, body)
	}
	if kicks := srv.Kicks(); len(kicks) != 1 || kicks[0].MemberID != victims[1].ID {
		t.Errorf("sandbox kicks = %+v", kicks)
	}
	if evs := e.events(openqq.EventLoseGroupMember); len(evs) != 1 {
		t.Errorf("lose_group_member events = %v", evs)
	}

	// A new friend shows up on refresh.
	if _, err := srv.AddFriend(sandbox.Friend{Nick: "新朋友", Status: "online"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.submit(openqq.APIRefreshContacts, nil); code != 0 {
		t.Errorf("refresh = %d", code)
	}
	if evs := e.events(openqq.EventNewFriend); len(evs) != 1 {
		t.Errorf("new_friend events = %v", evs)
	}

	// The session expires: a new QR scan, then running again.
	if err := srv.ExpireSession(103); err != nil {
		t.Fatal(err)
	}
	e.scanAndConfirm(srv)
	if n := len(e.events(openqq.EventLogin)); n != 2 {
		t.Errorf("%d login events after the relogin, want 2", n)
	}

	// A restart reuses the saved cookies: login(0), no QR code.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	qrs := len(e.events(openqq.EventInputQRCode))
	e.startWebQQ(srv)
	waitFor(t, "the third login", func() bool { return len(e.events(openqq.EventLogin)) == 3 })
	e.waitState(openqq.StateRunning)
	if ev := e.events(openqq.EventLogin)[2]; ev.Params[0] != float64(0) {
		t.Errorf("login after restart = %v, want [0]", ev.Params)
	}
	if n := len(e.events(openqq.EventInputQRCode)); n != qrs {
		t.Errorf("restart showed a QR code")
	}
}
