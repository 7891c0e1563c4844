package main

// Full-stack tests of the send endpoints: every target, sync and async,
// the not-found answers, and writes with the connector gone.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/store"
)

// sendCase is one target of a send endpoint.
type sendCase struct {
	name   string
	api    string
	params url.Values
	typ    string // the sandbox's SentMessage.Type
	to     int64
	via    int64 // sess: the group or discussion
}

func sendCases(w stackWorld) []sendCase {
	gm := w.members(w.create, "member")[0]
	dm := w.otherDiscussMember()
	return []sendCase{
		{"friend by id", "send_friend_message", url.Values{"id": {decimal(w.friend.ID)}}, "friend", w.friend.ID, 0},
		{"friend by uid", "send_friend_message", url.Values{"uid": {decimal(w.friend.UID)}}, "friend", w.friend.ID, 0},
		{"friend by name", "send_friend_message", url.Values{"name": {w.friend2.Nick}}, "friend", w.friend2.ID, 0},
		{"group by id", "send_group_message", url.Values{"id": {decimal(w.create.ID)}}, "group", w.create.ID, 0},
		{"group by uid", "send_group_message", url.Values{"uid": {decimal(w.attend.UID)}}, "group", w.attend.ID, 0},
		{"discuss", "send_discuss_message", url.Values{"id": {decimal(w.discuss.ID)}}, "discuss", w.discuss.ID, 0},
		{"sess via group", "send_sess_message", url.Values{"group_id": {decimal(w.create.ID)}, "id": {decimal(gm.ID)}}, "sess", gm.ID, w.create.ID},
		{"sess via group numbers", "send_sess_message", url.Values{"group_uid": {decimal(w.create.UID)}, "uid": {decimal(gm.UID)}}, "sess", gm.ID, w.create.ID},
		{"sess via discussion", "send_sess_message", url.Values{"discuss_id": {decimal(w.discuss.ID)}, "id": {decimal(dm.ID)}}, "sess", dm.ID, w.discuss.ID},
	}
}

func testSend(t *testing.T, ts *testStack, w stackWorld) {
	for _, c := range sendCases(w) {
		t.Run(c.name, func(t *testing.T) {
			// Sync by GET: answered once the sandbox accepted it.
			q := cloneValues(c.params)
			q.Set("content", "sync "+c.name+" 你好")
			a := ts.get(t, "/openqq/"+c.api+"?"+q.Encode())
			checkSendResult(t, a)
			checkSent(t, ts.sandbox, q.Get("content"), c)

			// async=1 by POST: answered at once, sent soon after. Sess
			// messages have no async mode (spec §6.8): answered when sent.
			f := cloneValues(c.params)
			f.Set("content", "async "+c.name)
			f.Set("async", "1")
			a = ts.post(t, "/openqq/"+c.api, f)
			if c.typ == "sess" {
				checkSendResult(t, a)
			} else if o := a.wantResult(t, http.StatusOK, 0, "request already in execution"); len(o) != 2 {
				t.Errorf("async answer %s has more than code and status", a.body)
			}
			eventually(t, "the async message in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, f.Get("content")); return ok })
			checkSent(t, ts.sandbox, f.Get("content"), c)
		})
	}
}

// checkSendResult checks the send answer of spec/API.md:
// {"id":<number>,"code":0,"status":"发送成功","info":"发送正常"}.
func checkSendResult(t testing.TB, a answer) {
	t.Helper()
	o := a.wantResult(t, http.StatusOK, 0, "发送成功")
	if _, ok := o["id"].(json.Number); !ok || o["info"] != "发送正常" || len(o) != 4 {
		t.Errorf("send result %s, want {id:<number>, code:0, status, info:发送正常}", a.body)
	}
	checkGolden(t, "send_message", o)
}

func checkSent(t testing.TB, sb *sandbox.Server, text string, c sendCase) {
	t.Helper()
	m, ok := sentWith(sb, text)
	switch {
	case !ok:
		t.Errorf("the sandbox did not get %q", text)
	case m.Type != c.typ || m.To != c.to || m.Via != c.via:
		t.Errorf("the sandbox got %q as %s to %d via %d, want %s to %d via %d", text, m.Type, m.To, m.Via, c.typ, c.to, c.via)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func testSendErrors(t *testing.T, ts *testStack, w stackWorld) {
	gm := w.members(w.create, "member")[0]
	dm := w.otherDiscussMember()
	sent := len(ts.sandbox.Sent())
	notFound := []struct {
		query  string
		code   int
		status string
	}{
		{"send_friend_message?id=1&content=x", 100, "friend not found"},
		{"send_friend_message?content=x", 100, "friend not found"},
		{"send_friend_message?id=1&content=x&async=1", 100, "friend not found"},
		{"send_group_message?id=1&content=x", 101, "group not found"},
		{"send_group_message?uid=1&content=x&async=1", 101, "group not found"},
		{"send_discuss_message?id=1&content=x", 102, "discuss not found"},
		{"send_sess_message?group_id=" + decimal(w.create.ID) + "&id=1&content=x", 103, "group member not found"},
		{"send_sess_message?group_id=1&id=" + decimal(gm.ID) + "&content=x", 103, "group member not found"},
		{"send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=1&content=x", 104, "discuss member not found"},
		{"send_sess_message?id=" + decimal(gm.ID) + "&content=x", 105, "discuss member or group member  not found"},
	}
	for _, c := range notFound {
		a := ts.get(t, "/openqq/"+c.query)
		if o := a.wantResult(t, http.StatusOK, c.code, c.status); o["id"] != nil || len(o) != 3 {
			t.Errorf("%s: %s, want \"id\":null with code and status", c.query, a.body)
		}
	}
	// [GO] spec §6.5: empty content answers 400, sync and async.
	for _, c := range []string{
		"send_friend_message?id=" + decimal(w.friend.ID),
		"send_friend_message?id=" + decimal(w.friend.ID) + "&content=",
		"send_friend_message?id=" + decimal(w.friend.ID) + "&content=&async=1",
		"send_group_message?id=" + decimal(w.create.ID) + "&content=",
		"send_discuss_message?id=" + decimal(w.discuss.ID) + "&async=1",
		"send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=" + decimal(dm.ID) + "&content=",
	} {
		ts.get(t, "/openqq/"+c).wantResult(t, http.StatusOK, 400, "content missing")
	}
	if n := len(ts.sandbox.Sent()); n != sent {
		t.Errorf("the sandbox got %d messages from failed sends", n-sent)
	}
}

// testConnectorDown runs a relay on the stack's Redis after the connector
// has gone: writes answer a clear error by their deadline instead of
// hanging, reads keep serving the last contacts.
func testConnectorDown(t *testing.T, acct, redisURL string, w stackWorld) {
	rc, err := loadRelayConfig(map[string]string{
		"OPENQQ_REDIS_URL": redisURL, "OPENQQ_ACCOUNT": acct, "OPENQQ_COMMAND_TIMEOUT": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), store.Options{URL: redisURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		served <- (&relay.Server{Handler: newRelayHandler(rc, db, stackLogger(t), nil)}).Serve(ctx, ln)
	}()
	defer func() { cancel(); <-served }()
	rs := &testStack{url: "http://" + ln.Addr().String()}
	send := "/openqq/send_friend_message?id=" + decimal(w.friend.ID) + "&content=nobody-home"

	// Stopped: refused at once.
	rs.get(t, send).wantResult(t, http.StatusServiceUnavailable, 503, "client not ready")
	if a := rs.get(t, "/openqq/get_friend_info"); a.status != http.StatusOK || len(a.array(t)) != len(w.Friends) {
		t.Errorf("get_friend_info without a connector: HTTP %d %s", a.status, a.body)
	}
	// Died a moment ago, its heartbeat still fresh: the command waits
	// for its deadline, then says it never ran.
	if err := db.SetState(t.Context(), acct, store.State{Account: acct, State: openqq.StateRunning, StartTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.Heartbeat(t.Context(), acct, time.Now()); err != nil {
		t.Fatal(err)
	}
	rs.get(t, send).wantResult(t, http.StatusGatewayTimeout, 504, "request timeout, not executed")
	// Its heartbeat too old: refused at once again.
	if err := db.Heartbeat(t.Context(), acct, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	rs.get(t, send).wantResult(t, http.StatusServiceUnavailable, 503, "client not ready")
}
