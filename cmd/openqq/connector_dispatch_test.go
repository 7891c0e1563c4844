package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/store/storetest"
)

// TestConnectorBinaryRunsTheDispatcher: `openqq connector` delivers post_api
// webhooks by itself, and a reply from the webhook reaches QQ.
func TestConnectorBinaryRunsTheDispatcher(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := openqqBinary(t)
	url := storetest.URL(t)
	acct := storetest.Account(t)
	dropAccountAtEnd(t, url, acct) // after the connector is killed

	srv := sandbox.NewServer(sandbox.Options{PollHold: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(srv.Close)
	srv.ConfirmQR()

	var mu sync.Mutex
	var got []openqq.Post
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p openqq.Post
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
		if p.PostType == openqq.PostReceiveMessage {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"reply":"收到: ` + p.Message.Content + `"}`))
		}
	}))
	t.Cleanup(hook.Close)

	startProc(t, bin, inheritedEnv(map[string]string{
		"OPENQQ_REDIS_URL": url, "OPENQQ_ACCOUNT": acct, "OPENQQ_BACKEND": "webqq",
		"OPENQQ_WEBQQ_ENDPOINT": srv.URL, "OPENQQ_SEND_INTERVAL": "0",
		"OPENQQ_ADMIN_LISTEN": freeAddr(t), "OPENQQ_POST_API": hook.URL,
	}), "connector")

	received := func(match func(openqq.Post) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range got {
			if match(p) {
				return true
			}
		}
		return false
	}
	eventually(t, "login event posted", func() bool {
		return received(func(p openqq.Post) bool { return p.Event != nil && p.Event.Name == openqq.EventLogin })
	})
	friend := srv.World().Friends[0]
	if _, err := srv.Push(sandbox.Message{Type: sandbox.MessageFriend, From: friend.ID, Text: "你好"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message posted", func() bool {
		return received(func(p openqq.Post) bool { return p.Message != nil && p.Message.Content == "你好" })
	})
	eventually(t, "reply sent to QQ", func() bool {
		for _, m := range srv.Sent() {
			if m.Text == "收到: 你好" {
				return true
			}
		}
		return false
	})
}
