package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestUpConfigErrors(t *testing.T) {
	cases := []struct {
		name    string
		kv      []string
		wantVar string
	}{
		{"unknown backend", []string{"OPENQQ_BACKEND", "tencent"}, "OPENQQ_BACKEND"},
		{"negative send interval", []string{"OPENQQ_SEND_INTERVAL", "-1s"}, "OPENQQ_SEND_INTERVAL"},
		{"malformed auto-confirm", []string{"OPENQQ_SANDBOX_AUTO_CONFIRM", "soon"}, "OPENQQ_SANDBOX_AUTO_CONFIRM"},
		{"open relay without tokens", []string{"OPENQQ_LISTEN", "0.0.0.0:0"}, "OPENQQ_API_TOKENS"},
		{"open sandbox", []string{"OPENQQ_SANDBOX_LISTEN", "0.0.0.0:0"}, "OPENQQ_SANDBOX_LISTEN"},
		{"bad webhook URL", []string{"OPENQQ_POST_API", "ftp://example.com/hook"}, "OPENQQ_POST_API"},
		{"bad account", []string{"OPENQQ_ACCOUNT", "{a}"}, "OPENQQ_ACCOUNT"},
		{"bad redis URL", []string{"OPENQQ_REDIS_URL", "mysql://127.0.0.1"}, "redis"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := startUp(t.Context(), upOptions{Environ: stackEnv(t, c.kv...), Logger: stackLogger(t)})
			if err == nil {
				s.close()
				t.Fatalf("started with %v", c.kv)
			}
			if !strings.Contains(err.Error(), c.wantVar) {
				t.Errorf("error %q does not name %s", err, c.wantVar)
			}
		})
	}
}

// TestUpReleasesWhatItOpened: a start that fails after opening listeners
// closes them, so the addresses are free again.
func TestUpReleasesWhatItOpened(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sandboxAddr := freeAddr(t)
	_, err = startUp(t.Context(), upOptions{
		Environ: stackEnv(t, "OPENQQ_SANDBOX_LISTEN", sandboxAddr, "OPENQQ_LISTEN", ln.Addr().String()),
		Logger:  stackLogger(t),
	})
	if err == nil || !strings.Contains(err.Error(), "relay: listen") {
		t.Fatalf("startUp on a taken relay address: %v", err)
	}
	again, err := net.Listen("tcp", sandboxAddr)
	if err != nil {
		t.Fatalf("the sandbox's address is still taken: %v", err)
	}
	again.Close()
}

// loginRecorder is a LoginObserver that keeps what it hears.
type loginRecorder struct {
	qrcodes [][]byte
	states  []openqq.ClientState
	cookies int
}

func (r *loginRecorder) QRCode(png []byte)          { r.qrcodes = append(r.qrcodes, png) }
func (r *loginRecorder) State(s openqq.ClientState) { r.states = append(r.states, s) }
func (r *loginRecorder) CookiesChanged([]byte)      { r.cookies++ }

// TestQRWatch: the backend's QR codes reach both the connector's observer
// and up's hook, and the rest of the login passes through.
func TestQRWatch(t *testing.T) {
	sb := sandbox.NewServer(sandbox.Options{Friends: 1, Groups: -1, Discusses: -1, AutoScanAfter: 1, AutoConfirmAfter: 1})
	t.Cleanup(sb.Close)
	var hooked [][]byte
	b := qrWatch{
		Backend: webqq.New(webqq.Options{Endpoint: sb.URL, HTTPClient: sb.Client(), QRPollInterval: 5 * time.Millisecond, Logger: stackLogger(t)}),
		onQR:    func(png []byte) { hooked = append(hooked, png) },
	}
	obs := &loginRecorder{}
	ctx, cancel := context.WithTimeout(t.Context(), waitBound)
	defer cancel()
	scanned, err := b.Login(ctx, obs)
	if err != nil || !scanned {
		t.Fatalf("login: scanned %v, %v", scanned, err)
	}
	want := []openqq.ClientState{openqq.StateScaning, openqq.StateConfirming}
	if len(obs.qrcodes) != 1 || len(hooked) != 1 || !bytes.Equal(obs.qrcodes[0], hooked[0]) || !slices.Equal(obs.states, want) {
		t.Errorf("observer heard %d QR codes and %v, the hook %d; want the same one QR code, then %v", len(obs.qrcodes), obs.states, len(hooked), want)
	}
	if obs.cookies == 0 {
		t.Error("cookie changes did not reach the observer")
	}
}

// TestStackShutdown: on cancel the relay lets a held check_event finish,
// the connector writes its stop state and gives its lease back, and Run
// returns nil.
func TestStackShutdown(t *testing.T) {
	redisURL := storetest.URL(t)
	ts := startStack(t, stackEnv(t, "OPENQQ_REDIS_URL", redisURL))
	ts.waitRunning(t)
	polled := make(chan answer, 1)
	go func() {
		a, err := ts.fetch(context.Background(), http.MethodGet, "/openqq/check_event", "", nil, nil)
		if err != nil {
			a = answer{body: []byte(err.Error())}
		}
		polled <- a
	}()
	eventually(t, "the poll to be held", func() bool {
		return strings.Contains(string(ts.get(t, "/metrics").body), "openqq_relay_check_event_waiters 1")
	})
	checkMetrics(t, ts, false)
	stopStack(t, ts)
	if a := <-polled; a.status != http.StatusOK || string(a.body) != "[]" {
		t.Errorf("the held poll ended with HTTP %d %s", a.status, a.body)
	}
	db, err := store.Open(t.Context(), store.Options{URL: redisURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.State(t.Context(), ts.acct)
	if err != nil || st.State != openqq.StateStop {
		t.Errorf("state after shutdown: %+v, %v", st, err)
	}
	if owner, _, err := db.LeaseHolder(t.Context(), ts.acct); owner != "" || err != nil {
		t.Errorf("lease still held by %q (%v)", owner, err)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://")); err == nil {
		t.Errorf("the relay still accepts connections")
	}
}

// stopStack cancels a stack as SIGTERM would and waits for Run.
func stopStack(t testing.TB, ts *testStack) {
	t.Helper()
	ts.cancelRun()
	ts.waitStopped(t, "SIGTERM")
}

// waitStopped waits for Run to return after cause, and checks it returned
// nil.
func (ts *testStack) waitStopped(t testing.TB, cause string) {
	t.Helper()
	select {
	case <-ts.done:
	case <-time.After(waitBound):
		t.Fatalf("the stack did not stop after %s", cause)
	}
	if ts.err != nil {
		t.Errorf("the stack ended with %v", ts.err)
	}
}

// TestUpBinary builds the binary and runs `openqq up` as a user would,
// with a fresh environment: it logs in by itself, sends, and exits 0 on
// SIGTERM after printing the QR code.
func TestUpBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; runs without -short")
	}
	bin := openqqBinary(t)
	listen := freeAddr(t)
	p := startProc(t, bin, []string{"OPENQQ_LISTEN=" + listen, "OPENQQ_SANDBOX_LISTEN=127.0.0.1:0", "PATH=" + os.Getenv("PATH")}, "up")
	ts := &testStack{url: "http://" + listen}
	eventually(t, "openqq up to log in", func() bool {
		if p.exited() {
			t.Fatalf("openqq up exited early: %v\n%s", p.err, p.out)
		}
		a, err := ts.fetch(t.Context(), http.MethodGet, "/healthz", "", nil, nil)
		return err == nil && a.status == http.StatusOK
	})
	friends := ts.get(t, "/openqq/get_friend_info").array(t)
	if len(friends) == 0 {
		t.Fatal("no friends in the default sandbox world")
	}
	friend := friends[0].(map[string]any)["id"].(string)
	checkSendResult(t, ts.get(t, "/openqq/send_friend_message?id="+friend+"&content=hello+from+up"))

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("openqq up exited with %v\n%s", p.err, p.out)
		}
	case <-time.After(waitBound):
		t.Fatalf("openqq up did not exit after SIGTERM\n%s", p.out)
	}
	out := p.out.String()
	for _, want := range []string{"Scan this QR code", "▄▄▄", "curl -s 'http://" + listen + "/openqq/get_user_info'", "msg=stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}
