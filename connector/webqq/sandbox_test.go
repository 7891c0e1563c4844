package webqq_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
)

var _ connector.Backend = (*webqq.Client)(nil)

const sandboxPassword = "sandbox-pass"

func newSandbox(t *testing.T, o sandbox.Options) *sandbox.Server {
	t.Helper()
	if o.PollHold == 0 {
		o.PollHold = 100 * time.Millisecond
	}
	o.Logger = slog.New(slog.DiscardHandler)
	srv := sandbox.NewServer(o)
	t.Cleanup(srv.Close)
	// Cleanups run last-in first-out: drop the client's idle connections
	// before Close, whose http.Server.Shutdown otherwise waits 5 s for a
	// dialled but unused connection (still "new" on the server side).
	t.Cleanup(srv.Client().CloseIdleConnections)
	return srv
}

// newClient points a Client at srv with no waits.
func newClient(t *testing.T, srv *sandbox.Server, o webqq.Options) *webqq.Client {
	t.Helper()
	o.Endpoint, o.HTTPClient = srv.URL, srv.Client()
	if o.Password != "" {
		o.PasswordKey = srv.RSAPublicKey()
	}
	o.SendInterval, o.QRPollInterval, o.PollPause = webqq.NoDelay, webqq.NoDelay, webqq.NoDelay
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return webqq.New(o)
}

// observer records what a login reports.
type observer struct {
	mu      sync.Mutex
	qrs     int
	states  []openqq.ClientState
	cookies []byte
}

func (o *observer) QRCode(png []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(png) > 0 {
		o.qrs++
	}
}

func (o *observer) State(s openqq.ClientState) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.states = append(o.states, s)
}

func (o *observer) CookiesChanged(jar []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cookies = jar
}

// autoQR makes the sandbox's QR code scan and confirm by itself.
func autoQR(o sandbox.Options) sandbox.Options {
	o.AutoScanAfter, o.AutoConfirmAfter = 1, 1
	return o
}

func login(t *testing.T, srv *sandbox.Server, o webqq.Options) (*webqq.Client, *observer) {
	t.Helper()
	c := newClient(t, srv, o)
	obs := &observer{}
	if _, err := c.Login(t.Context(), obs); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c, obs
}

// pollUntil polls until done says the collected messages are complete.
func pollUntil(t *testing.T, c *webqq.Client, done func([]openqq.Message) bool) []openqq.Message {
	t.Helper()
	var all []openqq.Message
	for range 50 {
		msgs, err := c.Poll(t.Context())
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if all = append(all, msgs...); done(all) {
			return all
		}
	}
	t.Fatalf("messages never complete: %+v", all)
	return nil
}

func TestSandboxQRLogin(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{}))
	c := newClient(t, srv, webqq.Options{})
	obs := &observer{}
	scanned, err := c.Login(t.Context(), obs)
	if err != nil || !scanned {
		t.Fatalf("Login = %v, %v", scanned, err)
	}
	if obs.qrs != 1 || !slices.Equal(obs.states, []openqq.ClientState{openqq.StateScaning, openqq.StateConfirming}) {
		t.Errorf("observer: %d QR codes, states %v", obs.qrs, obs.states)
	}
	if len(obs.cookies) == 0 {
		t.Error("no cookie change reported")
	}
	if st := srv.State(); !st.LoggedIn {
		t.Errorf("sandbox state %+v", st)
	}
}

func TestSandboxManualScan(t *testing.T) {
	srv := newSandbox(t, sandbox.Options{})
	c := newClient(t, srv, webqq.Options{QRPollInterval: 20 * time.Millisecond})
	obs := &observer{}
	done := make(chan error, 1)
	go func() { _, err := c.Login(t.Context(), obs); done <- err }()
	waitQR(t, srv, done)
	srv.ScanQR()
	srv.ConfirmQR()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitQR waits until the sandbox shows a QR code, or fails the test when
// the login ends first.
func waitQR(t *testing.T, srv *sandbox.Server, done <-chan error) {
	t.Helper()
	for srv.State().QR != "waiting" {
		select {
		case err := <-done:
			t.Fatalf("login ended before the QR code was shown: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestSandboxCookieReuse(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{}))
	a, _ := login(t, srv, webqq.Options{})
	jar, err := a.ExportCookies()
	if err != nil {
		t.Fatal(err)
	}
	b := newClient(t, srv, webqq.Options{})
	if err := b.ImportCookies(jar); err != nil {
		t.Fatal(err)
	}
	obs := &observer{}
	scanned, err := b.Login(t.Context(), obs)
	if err != nil || scanned {
		t.Fatalf("cookie login = %v, %v; want no scan", scanned, err)
	}
	if obs.qrs != 0 || len(obs.states) != 0 {
		t.Errorf("cookie login showed %d QR codes, states %v", obs.qrs, obs.states)
	}
	if _, err := b.Contacts(t.Context()); err != nil {
		t.Errorf("contacts after a cookie login: %v", err)
	}
}

func TestSandboxExpiredSessionFallsBackToQR(t *testing.T) {
	for _, rc := range []int{103, 100000} {
		srv := newSandbox(t, autoQR(sandbox.Options{}))
		a, _ := login(t, srv, webqq.Options{})
		jar, _ := a.ExportCookies()
		if err := srv.ExpireSession(rc); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Poll(t.Context()); !errors.Is(err, openqq.ErrLoginRequired) {
			t.Errorf("poll on an expired session (%d): %v", rc, err)
		}
		b := newClient(t, srv, webqq.Options{})
		if err := b.ImportCookies(jar); err != nil {
			t.Fatal(err)
		}
		obs := &observer{}
		scanned, err := b.Login(t.Context(), obs)
		if err != nil || !scanned || obs.qrs != 1 {
			t.Errorf("login after expiry %d: scanned %v, %v, %d QR codes", rc, scanned, err, obs.qrs)
		}
	}
}

func TestSandboxQRExpiry(t *testing.T) {
	srv := newSandbox(t, sandbox.Options{QRLifetime: 1})
	c := newClient(t, srv, webqq.Options{QRExpiryLimit: 3})
	obs := &observer{}
	_, err := c.Login(t.Context(), obs)
	if !errors.Is(err, openqq.ErrQRCodeExpired) || obs.qrs != 3 {
		t.Errorf("Login = %v after %d QR codes; want ErrQRCodeExpired after 3", err, obs.qrs)
	}
}

func TestSandboxLoginCancel(t *testing.T) {
	srv := newSandbox(t, sandbox.Options{})
	c := newClient(t, srv, webqq.Options{QRPollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	obs := &observer{}
	done := make(chan error, 1)
	go func() { _, err := c.Login(ctx, obs); done <- err }()
	waitQR(t, srv, done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled login: %v", err)
	}
}

func TestSandboxOverTLS(t *testing.T) {
	srv := sandbox.NewUnstartedServer(autoQR(sandbox.Options{Logger: slog.New(slog.DiscardHandler)}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	c, _ := login(t, srv, webqq.Options{})
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatal(err)
	}
	jar, _ := c.ExportCookies()
	b := newClient(t, srv, webqq.Options{})
	if err := b.ImportCookies(jar); err != nil {
		t.Fatal(err)
	}
	if scanned, err := b.Login(t.Context(), nil); err != nil || scanned {
		t.Errorf("cookie login over https: %v, %v", scanned, err)
	}
}

// Concurrent calls keep their connections: with the client's own transport
// (no HTTPClient given, as the connector runs it) rounds of 16 concurrent
// sends reuse the connections of the first round instead of dialling anew.
func TestSandboxConcurrentSendsReuseConnections(t *testing.T) {
	srv := newSandbox(t, autoQR(sandbox.Options{}))
	o := webqq.Options{Endpoint: srv.URL, SendInterval: webqq.NoDelay, QRPollInterval: webqq.NoDelay,
		PollPause: webqq.NoDelay, Logger: slog.New(slog.DiscardHandler)}
	c := webqq.New(o)
	if _, err := c.Login(t.Context(), &observer{}); err != nil {
		t.Fatalf("login: %v", err)
	}
	friend := srv.World().Friends[0].ID
	const rounds, concurrent = 10, 16
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, concurrent)
		for range concurrent {
			wg.Go(func() {
				_, err := c.Send(t.Context(), openqq.Outgoing{Type: openqq.FriendMessage, TargetID: openqq.ID(friend), Content: "x"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// About one round's worth, plus a few dialled while a connection was on
	// its way back to the pool; with too few kept alive, most sends dial
	// (2 per host, Go's default: about 300 connections here).
	if n := srv.Accepted(); n > rounds*concurrent/2 {
		t.Errorf("%d connections accepted for %d rounds of %d concurrent sends", n, rounds, concurrent)
	}
}
