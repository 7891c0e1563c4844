package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
	srv := sandbox.NewServer(sandbox.Options{
		AutoScanAfter: 1, AutoConfirmAfter: 1, PollHold: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	client := webqq.New(webqq.Options{
		Endpoint: srv.URL, HTTPClient: srv.Client(),
		SendInterval: webqq.NoDelay, QRPollInterval: webqq.NoDelay, PollPause: webqq.NoDelay,
		Logger: testLogger(t),
	})
	runConnector(t, connector.Options{
		Store: e.db, Backend: client, Account: e.acct, Logger: testLogger(t),
		LeaseTTL: time.Second, HeartbeatInterval: 100 * time.Millisecond, DrainTimeout: 5 * time.Second,
	})
	eventually(t, "connector running", func() bool {
		st, err := e.db.State(t.Context(), e.acct)
		return err == nil && st.State == openqq.StateRunning
	})

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
