package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/relay/webhook"
	"github.com/openqq-relay/openqq/store"
)

// upConfig is what `openqq up` reads beyond the environment it shares with
// `openqq relay` (relayConfig), `openqq connector` (connectorConfig),
// `openqq dispatch` (dispatchConfig) and `openqq sandbox` (sandboxConfig).
// Unlike `openqq connector`, up defaults OPENQQ_BACKEND to sandbox.
type upConfig struct {
	// AutoConfirm confirms the sandbox's QR scan by itself this long after
	// each QR code appears; 0 leaves it to the login page's button.
	AutoConfirm time.Duration `env:"OPENQQ_SANDBOX_AUTO_CONFIRM" envDefault:"5s"`
}

func (c upConfig) validate() error {
	if c.AutoConfirm < 0 || c.AutoConfirm > time.Hour {
		return &ConfigError{Var: "OPENQQ_SANDBOX_AUTO_CONFIRM", Err: fmt.Errorf("%s: must be 0 to 1h", c.AutoConfirm)}
	}
	return nil
}

// upOptions start the stack in-process; the zero value is `openqq up`.
type upOptions struct {
	Environ map[string]string // nil: the process environment
	Stderr  io.Writer         // QR codes and the banner; nil: os.Stderr
	Logger  *slog.Logger      // nil: OPENQQ_LOG_LEVEL on stderr
	// tuneConnector and tuneClient adjust options before they are used
	// (tests shorten the waits).
	tuneConnector func(*connector.Options)
	tuneClient    func(*webqq.Options)
}

// runUp runs connector, relay and webhook dispatcher in one process, on an
// embedded Redis and the sandbox unless configured otherwise, until ctx ends
// or stop_client stops the client.
func runUp(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("openqq up takes no arguments: configure it with OPENQQ_* variables")
	}
	s, err := startUp(ctx, upOptions{})
	if err != nil {
		return fmt.Errorf("openqq up: %w", err)
	}
	slog.SetDefault(s.log)
	if err := s.Run(ctx); err != nil {
		return fmt.Errorf("openqq up: %w", err)
	}
	return nil
}

// upStack is everything `openqq up` runs. startUp builds it and opens its
// listeners; Run starts it and, at the end, stops it in order.
type upStack struct {
	log    *slog.Logger
	stderr io.Writer
	cfg    upConfig
	relay  *relayConfig
	conn   *connectorConfig
	disp   *dispatchConfig
	reg    *prometheus.Registry // every part's metrics, served on the relay's /metrics

	embedded   *store.Embedded // nil with OPENQQ_REDIS_URL
	db         *store.DB
	sandbox    *sandbox.Server // nil with OPENQQ_BACKEND=webqq
	sandboxLn  net.Listener
	runner     *connector.Runner
	relayLn    net.Listener
	relaySrv   *relay.Server       // the relay, plus the sandbox's confirm button
	dispatcher *webhook.Dispatcher // nil unless dispatching

	relayURL   string // what a local client connects to
	sandboxURL string
	closers    []func() // run in reverse by close
}

// confirmPath is the one sandbox control the relay's listener serves: the
// login page's "confirm scan" button POSTs there, same-origin and without a
// token. It can only confirm a scan of the sandbox's made-up account.
const confirmPath = "/sandbox/confirm"

// startUp reads the configuration, starts Redis (embedded unless
// OPENQQ_REDIS_URL), opens the store, the sandbox's and the relay's
// listeners and builds the connector. Nothing runs until Run.
func startUp(ctx context.Context, o upOptions) (_ *upStack, err error) {
	s := &upStack{log: o.Logger, stderr: &lockedWriter{w: cmp.Or[io.Writer](o.Stderr, os.Stderr)}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.loadConfig(o.Environ); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = s.relay.Logger()
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.db, err = openStoreRetrying(ctx, string(s.relay.RedisURL), s.log); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { s.db.Close() })
	client, err := s.openBackend(o)
	if err != nil {
		return nil, err
	}
	if err := s.buildConnector(client, o); err != nil {
		return nil, err
	}
	if err := s.openRelay(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// loadConfig reads every part's configuration; without OPENQQ_REDIS_URL it
// starts the embedded Redis first, so that the parts can check theirs.
func (s *upStack) loadConfig(environ map[string]string) error {
	cfg, err1 := parseEnv[upConfig](environ)
	rc, err2 := parseEnv[relayConfig](environ)
	cc, err3 := parseEnv[connectorConfig](environ)
	dc, err4 := parseEnv[dispatchConfig](environ)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	s.cfg, s.relay, s.conn, s.disp = cfg, &rc, &cc, &dc
	if !isSet(environ, "OPENQQ_BACKEND") {
		cc.Backend = backendSandbox
	}
	// The admin listener is the dispatcher's here, and only when asked for.
	cc.AdminListen = cmp.Or(dc.AdminListen, adminOff)
	if rc.RedisURL == "" {
		var err error
		if s.embedded, err = store.NewEmbedded(""); err != nil {
			return err
		}
		s.closers = append(s.closers, func() { s.embedded.Close() })
		rc.RedisURL = openqq.Secret(s.embedded.URL())
		cc.RedisURL, dc.RedisURL = rc.RedisURL, rc.RedisURL
	}
	return errors.Join(cfg.validate(), rc.Validate(), cc.Validate(), dc.Validate())
}

// isSet reports whether the environment (nil: the process's) gives key a
// value.
func isSet(environ map[string]string, key string) bool {
	if environ == nil {
		return os.Getenv(key) != ""
	}
	return environ[key] != ""
}

// openBackend returns the connector's SmartQQ client: for the sandbox,
// after starting to listen for it on OPENQQ_SANDBOX_LISTEN.
func (s *upStack) openBackend(o upOptions) (*webqq.Client, error) {
	co := clientOptions(s.conn, s.log)
	if s.conn.Backend == backendSandbox {
		if err := s.openSandbox(o.Environ, &co); err != nil {
			return nil, err
		}
	}
	if o.tuneClient != nil {
		o.tuneClient(&co)
	}
	return webqq.New(co), nil
}

// openSandbox builds the sandbox world from the OPENQQ_SANDBOX_* variables
// and listens for it. Without any password configured, the sandbox and the
// client share a random one, so that QQ numbers, kick and mute work.
func (s *upStack) openSandbox(environ map[string]string, co *webqq.Options) error {
	sc, err := parseEnv[sandboxConfig](environ)
	if err != nil {
		return err
	}
	if err := sc.validate(); err != nil {
		return err
	}
	switch {
	case sc.Password == "" && co.Password == "":
		co.Password = openqq.Secret(rand.Text())
		sc.Password = string(co.Password)
	case sc.Password == "":
		sc.Password = string(co.Password)
	case co.Password == "":
		co.Password = openqq.Secret(sc.Password)
	}
	if uid, err := strconv.ParseInt(s.conn.Account, 10, 64); err == nil && uid > 0 && sc.SelfUID == 0 {
		sc.SelfUID = uid // a numeric account is the sandbox's QQ number, as for `openqq connector`
	}
	co.QRPollInterval = time.Second // a local server: see the scan quickly
	if s.cfg.AutoConfirm > 0 && sc.AutoScanAfter == 0 && sc.AutoConfirmAfter == 0 {
		// The sandbox plays the phone: it counts the client's QR polls,
		// scanning halfway through and confirming at the end.
		polls := max(2, int(s.cfg.AutoConfirm/co.QRPollInterval))
		sc.AutoScanAfter, sc.AutoConfirmAfter = polls/2, polls-polls/2
	}
	s.sandbox = sandbox.NewUnstartedServer(sandbox.Options{
		Seed: sc.Seed, Friends: sc.Friends, Groups: sc.Groups, MembersPerGroup: sc.MembersPerGroup,
		Discusses: sc.Discusses, DiscussMembers: sc.DiscussMembers, SelfUID: sc.SelfUID, SelfNick: sc.SelfNick,
		Password: sc.Password, AcceptSealedPasswords: sc.AcceptSealedPasswords,
		AutoScanAfter: sc.AutoScanAfter, AutoConfirmAfter: sc.AutoConfirmAfter, QRLifetime: sc.QRLifetime,
		PollHold: sc.PollHold, Logger: s.log,
	})
	s.closers = append(s.closers, s.sandbox.Close)
	if s.sandboxLn, err = net.Listen("tcp", sc.Listen); err != nil {
		return fmt.Errorf("sandbox: listen: %w", err)
	}
	s.closers = append(s.closers, func() { s.sandboxLn.Close() })
	s.sandboxURL = "http://" + s.sandboxLn.Addr().String()
	co.Endpoint, co.PasswordKey = s.sandboxURL, s.sandbox.RSAPublicKey()
	co.Account = strconv.FormatInt(s.sandbox.World().Self.UID, 10) // a scan by another account fails
	return nil
}

// buildConnector builds the runner as `openqq connector` does; its QR codes
// also go to the terminal.
func (s *upStack) buildConnector(client *webqq.Client, o upOptions) error {
	var err error
	s.runner, err = newRunner(s.conn, qrWatch{Backend: client, onQR: s.showQR}, s.db, s.log, s.reg, o.tuneConnector)
	return err
}

// openRelay builds the relay and listens for it. In sandbox mode the login
// page's button confirms the scan through the same listener.
func (s *upStack) openRelay(ctx context.Context) error {
	s.relaySrv = &relay.Server{CertFile: s.relay.TLSCert, KeyFile: s.relay.TLSKey}
	if s.sandbox != nil {
		s.relay.ConfirmScanURL = confirmPath
		s.relaySrv.Routes = map[string]http.Handler{"POST " + confirmPath: s.sandbox.Handler()}
	}
	s.relaySrv.Handler = newRelayHandler(s.relay, s.db, s.log, s.reg)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.relay.Listen)
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	s.relayLn = ln
	s.closers = append(s.closers, func() { ln.Close() })
	scheme := "http"
	if s.relay.TLSCert != "" {
		scheme = "https"
	}
	s.relayURL = scheme + "://" + probeAddr(ln.Addr().String())
	return nil
}

// close releases what startUp opened, in reverse.
func (s *upStack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// dispatching reports whether up runs the webhook dispatcher: for
// OPENQQ_POST_API, OPENQQ_POST_STDOUT, or the admin API's subscribers.
func (s *upStack) dispatching() bool {
	return len(s.disp.subscribers) > 0 || s.disp.PostStdout || s.disp.AdminListen != ""
}

// dispatchDrainMax bounds the wait for the webhooks at shutdown: a slow
// receiver must not hold the process past its stop timeout.
const dispatchDrainMax = 10 * time.Second

// Run runs the stack until ctx ends or a part stops by itself (stop_client
// stops the connector), then shuts down in order: the relay and the
// heartbeat stop taking requests (those in flight finish), the connector
// publishes stop and releases its lease, the dispatcher delivers every
// event up to the stop (Drain), the sandbox closes, Redis goes last. A
// part's failure is the error.
func (s *upStack) Run(ctx context.Context) error {
	defer s.close()
	base := context.WithoutCancel(ctx)
	ended := make(chan string, 1)
	back := newStage(base, ended)  // sandbox, dispatcher, admin listener
	conn := newStage(base, ended)  // connector
	front := newStage(base, ended) // relay, poll_api heartbeat
	if err := s.startBack(back); err != nil {
		return errors.Join(err, back.stop())
	}
	s.relay.logEffective(s.log)
	s.conn.logEffective(s.log)
	if s.dispatching() {
		s.disp.logEffective(s.log)
	}
	s.banner() // before the connector prints its first QR code
	conn.Go("connector", s.runner.Run)
	if err := s.startFront(front); err != nil {
		return errors.Join(err, front.stop(), conn.stop(), back.stop())
	}

	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case name := <-ended:
		s.log.Info("shutting down", "ended", name)
	}
	errFront := front.stop()
	errConn := conn.stop()
	select { // forget what front and conn said as they stopped
	case <-ended:
	default:
	}
	if s.dispatcher != nil {
		s.drainWebhooks(base, ended)
	}
	errBack := back.stop()
	s.log.Info("stopped")
	return errors.Join(errFront, errConn, errBack)
}

// drainWebhooks lets the dispatcher deliver what the connector appended up
// to its stop, so that its last events go out before an embedded Redis
// forgets them. A back part that ends by itself ends the wait: nobody
// delivers any more.
func (s *upStack) drainWebhooks(base context.Context, ended <-chan string) {
	ctx, cancel := context.WithTimeout(base, dispatchDrainMax)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- s.dispatcher.Drain(ctx) }()
	var err error
	select {
	case err = <-drained:
	case <-ended:
		cancel()
		err = <-drained
	}
	if err != nil {
		s.log.Warn("webhooks not all delivered at shutdown", openqq.LogKeyErr, err)
	}
}

// startBack serves the sandbox and starts the dispatcher, before the
// connector, so that Sync registers the subscribers before the first event.
func (s *upStack) startBack(back *stage) error {
	if s.sandbox != nil {
		srv := &http.Server{Handler: s.sandbox.Handler(), ReadHeaderTimeout: 10 * time.Second}
		back.Go("sandbox", func(ctx context.Context) error {
			return serveHTTP(ctx, s.sandboxLn, srv, 5*time.Second, s.sandbox.Close)
		})
	}
	if !s.dispatching() {
		return nil
	}
	var g errgroup.Group
	d, err := startDispatch(back.ctx, &g, s.disp, s.db, s.log, s.reg)
	if err != nil {
		return err
	}
	s.dispatcher = d
	back.Go("dispatcher", func(context.Context) error { return g.Wait() })
	if s.disp.AdminListen != "" {
		h := dispatchAdminHandler(d, s.db, s.reg, s.disp.adminTokens)
		back.Go("admin listener", func(ctx context.Context) error { return serveAdmin(ctx, s.disp.AdminListen, h, s.log) })
	}
	return nil
}

// startFront starts what takes requests: the relay and the poll_api
// heartbeat.
func (s *upStack) startFront(front *stage) error {
	var g errgroup.Group
	if h, err := startHeartbeat(front.ctx, &g, s.disp, s.db, s.log, s.reg); err != nil {
		return err
	} else if h != nil {
		front.Go("heartbeat", func(context.Context) error { return g.Wait() })
	}
	front.Go("relay", func(ctx context.Context) error { return s.relaySrv.Serve(ctx, s.relayLn) })
	return nil
}

// banner says where everything listens, with a request to paste.
func (s *upStack) banner() {
	redis := "redis (OPENQQ_REDIS_URL)"
	if s.embedded != nil {
		redis = "redis://" + s.embedded.Addr() + " (embedded: nothing is kept across restarts)"
	}
	auth := ""
	if len(s.relay.tokens) > 0 {
		auth = ` -H "Authorization: Bearer $OPENQQ_TOKEN"`
	}
	fmt.Fprintf(s.stderr, "openqq up %s, account %q\n", openqq.Version, s.relay.Account)
	fmt.Fprintf(s.stderr, "  relay    %s/openqq/…  login page %s/\n", s.relayURL, s.relayURL)
	fmt.Fprintf(s.stderr, "  store    %s\n", redis)
	if s.sandbox != nil {
		fmt.Fprintf(s.stderr, "  sandbox  %s (SmartQQ sandbox; control API under /sandbox/)\n", s.sandboxURL)
	} else {
		fmt.Fprintf(s.stderr, "  backend  SmartQQ (%s)\n", cmp.Or(redactURL(s.conn.WebQQEndpoint), "the real hosts"))
	}
	if s.dispatching() {
		fmt.Fprintf(s.stderr, "  webhooks %d post_api subscriber(s)\n", len(s.disp.subscribers))
	}
	fmt.Fprintf(s.stderr, "once logged in, try:\n  curl -s%s '%s/openqq/get_user_info'\n", auth, s.relayURL)
	s.log.Info("openqq up", "relay", s.relayURL, "sandbox", s.sandboxURL, "embedded_redis", s.embedded != nil,
		openqq.LogKeyAccount, s.relay.Account, "tokens", len(s.relay.tokens),
		"post_api", len(s.disp.subscribers), "poll_api", s.disp.PollAPI != "")
}

// showQR draws each new QR code in the terminal.
func (s *upStack) showQR(png []byte) {
	fmt.Fprintf(s.stderr, "\nScan this QR code with QQ, or open %s/ to see it:\n", s.relayURL)
	if err := printQRCode(s.stderr, png); err != nil {
		s.log.Warn("qr code not printable", openqq.LogKeyErr, err)
	}
	switch {
	case s.sandbox == nil:
	case s.cfg.AutoConfirm > 0:
		fmt.Fprintf(s.stderr, "(sandbox: the scan confirms itself in about %s, or press the page's button)\n", s.cfg.AutoConfirm)
	default:
		fmt.Fprintln(s.stderr, "(sandbox: press the login page's button to confirm the scan)")
	}
}

// lockedWriter serialises the banner and the QR codes, which the connector
// prints from its own goroutine.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
