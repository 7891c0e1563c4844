package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
)

// The whole path: a message arrives at the SmartQQ sandbox, the connector
// polls it and appends it to the events stream, the dispatcher posts it, the
// receiver answers {"reply":…}, the connector sends the reply, and the
// sandbox sees it sent. The report of that sent reply is posted too and
// answered again, and the loop guard keeps that answer from being sent.
func TestReplyReachesTheSandbox(t *testing.T) {
	e := newEnv(t)
	srv := sandboxConnector(t, e, "")

	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		w.Header().Set("Content-Type", "application/json")
		var p struct {
			PostType string `json:"post_type"`
		}
		json.Unmarshal(rec.Body, &p)
		io.WriteString(w, `{"reply":"re: `+rec.content()+` (`+p.PostType+`)"}`)
	})
	start(t, e.options(t, realClock{}, Subscriber{URL: rc.URL, Reply: true}))

	friend := srv.World().Friends[0]
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: friend.ID, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	sent := waitSent(t, srv, 1)
	if sent[0].Type != "friend" || sent[0].To != friend.ID || sent[0].Text != "re: hello (receive_message)" {
		t.Errorf("sent = %+v", sent[0])
	}
	// The report of the sent reply reaches the receiver, which answers it;
	// then a second message: the next send must be the reply to it.
	rc.waitContents(t, "re: hello (receive_message)")
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: friend.ID, Text: "again"}); err != nil {
		t.Fatal(err)
	}
	sent = waitSent(t, srv, 2)
	if sent[1].Text != "re: again (receive_message)" {
		t.Errorf("the loop guard failed: sends %v", texts(sent))
	}
	got := rc.waitContents(t, "re: again (receive_message)")
	if !slices.Contains(contents(got), "hello") {
		t.Errorf("receiver got %v", contents(got))
	}
}

// TestShutupReachesTheSandbox: a receiver answers every message with
// {"shutup":1,"shutup_time":120}. For a group message from a plain member
// of a group the account manages, the connector mutes that member for 120
// s through ext (which needs the QQ password); for a friend message the
// answer does nothing.
func TestShutupReachesTheSandbox(t *testing.T) {
	e := newEnv(t)
	srv := sandboxConnector(t, e, "ext-s3cret")
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"shutup":1,"shutup_time":120}`)
	})
	reg := prometheus.NewRegistry()
	o := e.options(t, realClock{}, Subscriber{URL: rc.URL, Reply: true})
	o.Registry = reg
	start(t, o)

	w := srv.World()
	friend := w.Friends[0]
	g, ok := w.GroupWithRole("manage")
	if !ok {
		t.Fatal("the sandbox world has no group the account manages")
	}
	i := slices.IndexFunc(g.Members, func(m sandbox.Member) bool { return m.Role == "member" && m.ID != w.Self.ID })
	if i < 0 {
		t.Fatalf("group %d has no plain member", g.ID)
	}
	member := g.Members[i]

	// The friend message goes first: once the group member is muted, the
	// dispatcher has acted on both answers, in order.
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: friend.ID, Text: "mute me"}); err != nil {
		t.Fatal(err)
	}
	rc.waitContents(t, "mute me")
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageGroup, From: member.ID, Group: g.ID, Text: "spam"}); err != nil {
		t.Fatal(err)
	}
	var mutes []sandbox.Mute
	eventually(t, "a mute in the sandbox", func() bool { mutes = srv.Mutes(); return len(mutes) > 0 })
	if len(mutes) != 1 || mutes[0].GroupID != g.ID || mutes[0].MemberID != member.ID || mutes[0].Seconds != 120 {
		t.Errorf("the sandbox muted %+v, want member %d of group %d for 120 s", mutes, member.ID, g.ID)
	}
	if n := replies(t, reg, openqq.APIShutupGroupMember); n != 1 {
		t.Errorf("%v shutup commands queued, want 1: the friend message's answer must do nothing", n)
	}
	if sent := srv.Sent(); len(sent) != 0 {
		t.Errorf("the sandbox sent %v for answers without a reply", texts(sent))
	}
}

// replies is the dispatcher's count of reply commands queued for api.
func replies(t *testing.T, reg *prometheus.Registry, api string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "openqq_webhook_replies_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == api {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// sandboxConnector runs a connector for e's account against a new SmartQQ
// sandbox over HTTP, which confirms the QR scan by itself, and waits until
// it runs. A password, given to both sides, turns on ext (QQ numbers, kick
// and mute).
func sandboxConnector(t *testing.T, e *testEnv, password string) *sandbox.Server {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{
		AutoScanAfter: 1, AutoConfirmAfter: 1, PollHold: 100 * time.Millisecond, Password: password,
		Logger: slog.New(slog.DiscardHandler),
	})
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	co := webqq.Options{
		Endpoint: srv.URL, HTTPClient: srv.Client(),
		SendInterval: webqq.NoDelay, QRPollInterval: webqq.NoDelay, PollPause: webqq.NoDelay,
		Logger: testLogger(t),
	}
	if password != "" {
		co.Account = strconv.FormatInt(srv.World().Self.UID, 10)
		co.Password, co.PasswordKey = openqq.Secret(password), srv.RSAPublicKey()
	}
	runConnector(t, connector.Options{
		Store: e.db, Backend: webqq.New(co), Account: e.acct, Logger: testLogger(t),
		LeaseTTL: time.Second, HeartbeatInterval: 100 * time.Millisecond, DrainTimeout: 5 * time.Second,
	})
	eventually(t, "connector running", func() bool {
		st, err := e.db.State(t.Context(), e.acct)
		return err == nil && st.State == openqq.StateRunning
	})
	return srv
}

func runConnector(t *testing.T, o connector.Options) {
	t.Helper()
	r, err := connector.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("connector Run = %v", err)
		}
	})
}

func waitSent(t *testing.T, srv *sandbox.Server, n int) []sandbox.SentMessage {
	t.Helper()
	var sent []sandbox.SentMessage
	eventually(t, "sandbox sends", func() bool { sent = srv.Sent(); return len(sent) >= n })
	return sent
}

func texts(ms []sandbox.SentMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
