package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/connector/sandbox"
	"github.com/openqq-relay/openqq/connector/webqq"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/store"
)

// Protocol backends of OPENQQ_BACKEND.
const (
	backendWebQQ   = "webqq"   // SmartQQ over HTTPS, or at OPENQQ_WEBQQ_ENDPOINT
	backendSandbox = "sandbox" // an in-process SmartQQ sandbox that logs in by itself
)

// adminOff as OPENQQ_ADMIN_LISTEN turns the admin listener off (an empty
// value means the default).
const adminOff = "off"

// connectorConfig is the environment of `openqq connector`. `openqq up` can
// parse it too, fill RedisURL with its embedded Redis, then Validate.
type connectorConfig struct {
	RedisURL      openqq.Secret `env:"OPENQQ_REDIS_URL"` // may hold a password
	Account       string        `env:"OPENQQ_ACCOUNT" envDefault:"default"`
	Backend       string        `env:"OPENQQ_BACKEND" envDefault:"webqq"`
	SendInterval  time.Duration `env:"OPENQQ_SEND_INTERVAL" envDefault:"3s"`
	WebQQEndpoint string        `env:"OPENQQ_WEBQQ_ENDPOINT"`
	QQPassword    openqq.Secret `env:"OPENQQ_QQ_PASSWORD"`
	AdminListen   string        `env:"OPENQQ_ADMIN_LISTEN" envDefault:"127.0.0.1:9090"`

	RefreshInterval time.Duration `env:"OPENQQ_REFRESH_INTERVAL" envDefault:"600s"`
	CheckEventMax   int           `env:"OPENQQ_CHECK_EVENT_MAX" envDefault:"20"`
	PostEvent       bool          `env:"OPENQQ_POST_EVENT" envDefault:"true"`
	PostEventList   []string      `env:"OPENQQ_POST_EVENT_LIST" envSeparator:","`
	LeaseTTL        time.Duration `env:"OPENQQ_LEASE_TTL" envDefault:"15s"`
	// Dispatch runs the webhook dispatcher (and the poll_api heartbeat) in
	// this process; turn it off when `openqq dispatch` runs elsewhere.
	Dispatch bool `env:"OPENQQ_DISPATCH" envDefault:"true"`
	Logging
}

// Validate checks the configuration; each error names its variable.
func (c *connectorConfig) Validate() error {
	var errs []error
	bad := func(v, format string, args ...any) {
		errs = append(errs, &ConfigError{Var: v, Err: fmt.Errorf(format, args...)})
	}
	if c.RedisURL == "" {
		bad("OPENQQ_REDIS_URL", "required (redis://host:port/db)")
	}
	if !relay.ValidAccount(c.Account) {
		bad("OPENQQ_ACCOUNT", "%q is not an account name (letters, digits, _.@-)", c.Account)
	}
	switch c.Backend {
	case backendWebQQ:
		if c.WebQQEndpoint != "" {
			if u, err := url.Parse(c.WebQQEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("OPENQQ_WEBQQ_ENDPOINT", "must be an http(s) base URL, e.g. http://127.0.0.1:5100")
			}
		}
	case backendSandbox:
		if c.WebQQEndpoint != "" {
			bad("OPENQQ_WEBQQ_ENDPOINT", "only used with OPENQQ_BACKEND=webqq (the sandbox backend runs its own)")
		}
	default:
		bad("OPENQQ_BACKEND", "%q: want webqq or sandbox", c.Backend)
	}
	if c.SendInterval < 0 || c.SendInterval > time.Minute {
		bad("OPENQQ_SEND_INTERVAL", "%s: must be 0 to 1m", c.SendInterval)
	}
	if c.AdminListen != adminOff {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			bad("OPENQQ_ADMIN_LISTEN", "want host:port, e.g. 127.0.0.1:9090, or off")
		}
	}
	if c.RefreshInterval < 10*time.Second || c.RefreshInterval > 24*time.Hour {
		bad("OPENQQ_REFRESH_INTERVAL", "%s: must be 10s to 24h", c.RefreshInterval)
	}
	if c.CheckEventMax < 1 || c.CheckEventMax > 10_000 {
		bad("OPENQQ_CHECK_EVENT_MAX", "%d: must be 1 to 10000", c.CheckEventMax)
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL > 10*time.Minute {
		bad("OPENQQ_LEASE_TTL", "%s: must be 1s to 10m", c.LeaseTTL)
	}
	var list []string
	for _, e := range c.PostEventList {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	c.PostEventList = list
	if err := c.Logging.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// logEffective logs the configuration once at start-up, secrets left out.
func (c *connectorConfig) logEffective(log *slog.Logger) {
	log.Info("connector config",
		"redis_url", c.RedisURL, openqq.LogKeyAccount, c.Account, "backend", c.Backend,
		"webqq_endpoint", redactURL(c.WebQQEndpoint), "qq_password", c.QQPassword != "",
		"send_interval", c.SendInterval, "admin_listen", c.AdminListen,
		"refresh_interval", c.RefreshInterval, "check_event_max", c.CheckEventMax,
		"post_event", c.PostEvent, "post_event_list", c.postEventList(),
		"lease_ttl", c.LeaseTTL, "log_level", c.Level)
}

// redactURL drops the user information and query of a URL for the log.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// postEventList is the configured list, or the original's default.
func (c *connectorConfig) postEventList() []string {
	if len(c.PostEventList) == 0 {
		return openqq.DefaultPostEventList
	}
	return c.PostEventList
}

// loadConnectorConfig reads and checks the connector's environment (nil:
// the process environment).
func loadConnectorConfig(environ map[string]string) (*connectorConfig, error) {
	cfg, err := parseEnv[connectorConfig](environ)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// newConnector builds the account's connector on db with the configured
// protocol backend. The returned close function releases what the backend
// holds (the in-process sandbox) and must be called after the connector's
// Run has returned.
func newConnector(cfg *connectorConfig, db *store.DB, log *slog.Logger, reg *prometheus.Registry) (*connector.Runner, func(), error) {
	backend, closeBackend, err := newBackend(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	r, err := newRunner(cfg, backend, db, log, reg, nil)
	if err != nil {
		closeBackend()
		return nil, nil, err
	}
	return r, closeBackend, nil
}

// newRunner builds the account's connector over backend with the options
// of cfg: the one mapping from the environment to connector.Options, which
// `openqq connector` and `openqq up` share. tune, when not nil, adjusts the
// options before they are used (tests shorten the waits).
func newRunner(cfg *connectorConfig, backend connector.Backend, db *store.DB, log *slog.Logger, reg *prometheus.Registry, tune func(*connector.Options)) (*connector.Runner, error) {
	postEvent := cfg.PostEvent
	o := connector.Options{
		Store:           db,
		Backend:         backend,
		Account:         cfg.Account,
		Logger:          log,
		Registry:        reg,
		RefreshInterval: cfg.RefreshInterval,
		CheckEventMax:   cfg.CheckEventMax,
		PostEvent:       &postEvent,
		PostEventList:   cfg.postEventList(),
		LeaseTTL:        cfg.LeaseTTL,
	}
	if tune != nil {
		tune(&o)
	}
	return connector.New(o)
}

// clientOptions are the SmartQQ client's options of cfg, for the real
// hosts or OPENQQ_WEBQQ_ENDPOINT; a sandbox backend then points them at
// itself.
func clientOptions(cfg *connectorConfig, log *slog.Logger) webqq.Options {
	o := webqq.Options{
		Endpoint:     cfg.WebQQEndpoint,
		Account:      cfg.Account,
		Password:     cfg.QQPassword,
		SendInterval: cfg.SendInterval,
		Logger:       log,
	}
	if o.SendInterval == 0 { // 0 means none here, as the variable says
		o.SendInterval = webqq.NoDelay
	}
	return o
}

// newBackend builds the SmartQQ client: against the real hosts (the system
// CA pool, which honours SSL_CERT_FILE), against OPENQQ_WEBQQ_ENDPOINT, or
// against a sandbox started here that scans and confirms its QR codes by
// itself.
func newBackend(cfg *connectorConfig, log *slog.Logger) (connector.Backend, func(), error) {
	o := clientOptions(cfg, log)
	if cfg.Backend != backendSandbox {
		return webqq.New(o), func() {}, nil
	}
	so := sandbox.Options{AutoScanAfter: 1, AutoConfirmAfter: 1, Password: string(cfg.QQPassword), Logger: log}
	if uid, err := strconv.ParseInt(cfg.Account, 10, 64); err == nil && uid > 0 {
		so.SelfUID = uid // a numeric account is the sandbox's QQ number, so ext logins match
	}
	srv := sandbox.NewServer(so)
	o.Endpoint, o.HTTPClient, o.PasswordKey = srv.URL, srv.Client(), srv.RSAPublicKey()
	log.Info("sandbox backend", "url", srv.URL)
	return webqq.New(o), srv.Close, nil
}

// openStoreRetrying opens the store, waiting for a Redis that does not
// answer yet (a connector started before its Redis); other errors, such as
// a malformed URL or a refused password, are returned at once.
func openStoreRetrying(ctx context.Context, url string, log *slog.Logger) (*store.DB, error) {
	wait := 100 * time.Millisecond
	for {
		db, err := store.Open(ctx, store.Options{URL: url, Logger: log})
		if _, unreachable := errors.AsType[*net.OpError](err); err == nil || !unreachable || ctx.Err() != nil {
			return db, err
		}
		log.Warn("redis unreachable, retrying", openqq.LogKeyErr, err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// runConnector holds the account's QQ session until ctx ends (SIGTERM) or
// the client stops, serving /healthz and /metrics on OPENQQ_ADMIN_LISTEN.
func runConnector(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("openqq connector takes no arguments: configure it with OPENQQ_* variables")
	}
	cfg, err := loadConnectorConfig(nil)
	if err != nil {
		return err
	}
	log := cfg.Logger()
	slog.SetDefault(log)
	cfg.logEffective(log)
	db, err := openStoreRetrying(ctx, string(cfg.RedisURL), log)
	if err != nil {
		return fmt.Errorf("openqq connector: %w", err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	conn, closeBackend, err := newConnector(cfg, db, log, reg)
	if err != nil {
		return fmt.Errorf("openqq connector: %w", err)
	}
	defer closeBackend()

	g, gctx := errgroup.WithContext(ctx)
	// The side services (admin listener, webhook dispatcher, poll_api
	// heartbeat) run on svcCtx, which ends when the connector does: a
	// stop_client ends the whole process, as the original's stop.
	svcCtx, stopServices := context.WithCancel(gctx)
	defer stopServices()
	admin := conn.AdminHandler()
	if cfg.Dispatch {
		dcfg, err := loadDispatchConfig(nil)
		if err != nil {
			return err
		}
		// Registered before the connector starts, so no event is missed.
		d, err := startDispatch(svcCtx, g, dcfg, db, log, reg)
		if err != nil {
			return fmt.Errorf("openqq connector: %w", err)
		}
		if _, err := startHeartbeat(svcCtx, g, dcfg, db, log, reg); err != nil {
			return fmt.Errorf("openqq connector: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/webhook/", d.AdminHandler()) // token-guarded
		mux.Handle("/", admin)
		admin = mux
	}
	g.Go(func() error {
		defer stopServices()
		return conn.Run(gctx)
	})
	if cfg.AdminListen != adminOff {
		g.Go(func() error { return serveAdmin(svcCtx, cfg.AdminListen, admin, log) })
	}
	return g.Wait()
}
