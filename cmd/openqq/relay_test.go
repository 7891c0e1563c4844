package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay/lambda/lambdatest"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestRelayConfig(t *testing.T) {
	base := map[string]string{"OPENQQ_REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string // "" means valid
	}{
		{name: "defaults", env: with()},
		{name: "no redis", env: map[string]string{}, wantVar: "OPENQQ_REDIS_URL"},
		{name: "bad account", env: with("OPENQQ_ACCOUNT", "{a}"), wantVar: "OPENQQ_ACCOUNT"},
		{name: "bad duration", env: with("OPENQQ_CHECK_EVENT_TIMEOUT", "soon"), wantVar: "OPENQQ_CHECK_EVENT_TIMEOUT"},
		{name: "zero timeout", env: with("OPENQQ_COMMAND_TIMEOUT", "0s"), wantVar: "OPENQQ_COMMAND_TIMEOUT"},
		{name: "huge hold", env: with("OPENQQ_CHECK_EVENT_TIMEOUT", "1h"), wantVar: "OPENQQ_CHECK_EVENT_TIMEOUT"},
		{name: "open listener without tokens", env: with("OPENQQ_LISTEN", "0.0.0.0:5000"), wantVar: "OPENQQ_API_TOKENS"},
		{name: "all interfaces without tokens", env: with("OPENQQ_LISTEN", ":5000"), wantVar: "OPENQQ_API_TOKENS"},
		{name: "open listener with a token", env: with("OPENQQ_LISTEN", "0.0.0.0:5000", "OPENQQ_API_TOKENS", "s3cret")},
		{name: "open listener allowed", env: with("OPENQQ_LISTEN", "0.0.0.0:5000", "OPENQQ_ALLOW_NO_AUTH", "true")},
		{name: "localhost", env: with("OPENQQ_LISTEN", "localhost:5000")},
		{name: "IPv6 loopback", env: with("OPENQQ_LISTEN", "[::1]:5000")},
		{name: "Lambda without tokens", env: with("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"), wantVar: "OPENQQ_API_TOKENS"},
		{name: "Lambda with a token", env: with("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", "OPENQQ_API_TOKENS", "a:ro,b")},
		{name: "bad token list", env: with("OPENQQ_API_TOKENS", "a,:ro"), wantVar: "OPENQQ_API_TOKENS"},
		{name: "TLS key without cert", env: with("OPENQQ_TLS_KEY", "/k.pem"), wantVar: "OPENQQ_TLS_CERT"},
		{name: "TLS files missing", env: with("OPENQQ_TLS_KEY", "/nonexistent/k.pem", "OPENQQ_TLS_CERT", "/nonexistent/c.pem"), wantVar: "OPENQQ_TLS_CERT"},
		{name: "bad confirm URL", env: with("OPENQQ_CONFIRM_SCAN_URL", "javascript:alert(1)"), wantVar: "OPENQQ_CONFIRM_SCAN_URL"},
		{name: "bad log level", env: with("OPENQQ_LOG_LEVEL", "loud"), wantVar: "OPENQQ_LOG_LEVEL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadRelayConfig(c.env)
			if c.wantVar == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantVar) {
				t.Fatalf("got %+v, %v; want an error naming %s", cfg, err, c.wantVar)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the Redis password: %v", err)
			}
		})
	}
	cfg, err := loadRelayConfig(with())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Account != "default" || cfg.Listen != "127.0.0.1:5000" || cfg.CheckEventTimeout != 30*time.Second ||
		cfg.CommandTimeout != 30*time.Second || cfg.Level != "info" {
		t.Errorf("defaults: %+v", cfg)
	}
	var ce *ConfigError
	if _, err := loadRelayConfig(with("OPENQQ_LISTEN", "0.0.0.0:1")); !errors.As(err, &ce) || ce.Var != "OPENQQ_API_TOKENS" {
		t.Errorf("want a ConfigError, got %v", err)
	}
}

// testStore opens the test Redis and a fresh account on it, and returns
// its URL for the relay under test.
func testStore(t *testing.T) (string, *store.DB, string) {
	t.Helper()
	url := storetest.URL(t)
	db, acct := storetest.Open(t, url)
	if err := db.AddAccount(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	return url, db, acct
}

// seedAccount publishes what a logged-in connector leaves in Redis.
func seedAccount(t *testing.T, db *store.DB, acct string) {
	t.Helper()
	c := &openqq.Contacts{
		User:    openqq.User{ID: 1, UID: 10, Name: "me"},
		Friends: []openqq.Friend{{ID: 2, UID: 20, Name: "friend"}},
	}
	if err := db.SaveContacts(t.Context(), acct, c); err != nil {
		t.Fatal(err)
	}
	err := db.SetState(t.Context(), acct, store.State{State: openqq.StateRunning, PID: 42, Heartbeat: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
}

// playConnector answers every command of acct with a send result until the
// test ends.
func playConnector(t *testing.T, db *store.DB, acct string) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for ctx.Err() == nil {
			ds, err := db.Consume(ctx, acct, "test", 8, 200*time.Millisecond)
			if err != nil {
				return
			}
			for _, d := range ds {
				db.Reply(ctx, acct, d, openqq.Result{Body: json.RawMessage(`{"id":7,"code":0,"status":"发送成功","info":"发送正常"}`)})
			}
		}
	})
}

// openqq relay as a server: it serves, and stops cleanly on ctx.
func TestRunRelayServer(t *testing.T) {
	url, db, acct := testStore(t)
	seedAccount(t, db, acct)
	addr := freeAddr(t)
	t.Setenv("OPENQQ_REDIS_URL", url)
	t.Setenv("OPENQQ_ACCOUNT", acct)
	t.Setenv("OPENQQ_LISTEN", addr)
	t.Setenv("OPENQQ_API_TOKENS", "s3cret")
	t.Setenv("OPENQQ_LOG_LEVEL", "warn")
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runRelay(ctx, nil) }()
	rs := &testStack{url: "http://" + addr}
	eventually(t, "the relay to serve", func() bool {
		select {
		case err := <-done:
			t.Fatalf("runRelay ended: %v", err)
		default:
		}
		a, err := rs.fetch(t.Context(), http.MethodGet, "/healthz", "", nil, nil)
		return err == nil && a.status == http.StatusOK
	})
	if a := rs.get(t, "/openqq/get_user_info"); a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", a.status, a.body)
	}
	rs.token = "s3cret"
	if a := rs.get(t, "/openqq/get_user_info"); a.status != http.StatusOK || !strings.Contains(string(a.body), `"name":"me"`) {
		t.Errorf("with a token: %d %s", a.status, a.body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runRelay returned %v after ctx ended", err)
	}
	if err := runRelay(t.Context(), []string{"extra"}); err == nil {
		t.Error("runRelay accepted arguments")
	}
}

// openqq relay as a Lambda function: the real binary under the Runtime API
// emulator, on the real store, with a test connector.
func TestRunRelayLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	url, db, acct := testStore(t)
	seedAccount(t, db, acct)
	playConnector(t, db, acct)

	bin := openqqBinary(t)
	rt := lambdatest.NewRuntime(t)
	rt.StartBinary(bin, "OPENQQ_REDIS_URL="+url, "OPENQQ_ACCOUNT="+acct, "OPENQQ_API_TOKENS=s3cret,viewer:ro",
		"OPENQQ_CHECK_EVENT_TIMEOUT=5m", "OPENQQ_LOG_LEVEL=warn")
	c := &http.Client{Transport: &lambdatest.Transport{Runtime: rt, Timeout: 4 * time.Second}}
	viewer := &testStack{url: "https://function.lambda-url.test", client: c, token: "viewer"}
	writer := &testStack{url: viewer.url, client: c, token: "s3cret"}

	if a := viewer.get(t, "/openqq/get_friend_info"); a.status != 200 || !strings.Contains(string(a.body), `"name":"friend"`) {
		t.Errorf("get_friend_info: %d %s", a.status, a.body)
	}
	if a := writer.get(t, "/openqq/send_friend_message?uid=20&content=hi"); a.status != 200 ||
		string(a.body) != `{"code":0,"id":7,"info":"发送正常","status":"发送成功"}` {
		t.Errorf("send: %d %s", a.status, a.body)
	}
	if a := viewer.get(t, "/openqq/send_friend_message?uid=20&content=hi"); a.status != 403 {
		t.Errorf("send with a read-only token: %d %s", a.status, a.body)
	}
	// The 5-minute hold ends before the 4-second invocation does.
	if a := viewer.get(t, "/openqq/check_event"); a.status != 200 || string(a.body) != "[]" {
		t.Errorf("check_event: %d %q", a.status, a.body)
	}
	if err := db.PushCheckEvent(t.Context(), acct, []byte(`{"post_type":"event","event":"stop","params":[]}`), 0); err != nil {
		t.Fatal(err)
	}
	if a := viewer.get(t, "/openqq/check_event"); a.status != 200 || string(a.body) != `[{"event":"stop","params":[],"post_type":"event"}]` {
		t.Errorf("check_event: %d %q", a.status, a.body)
	}
}
