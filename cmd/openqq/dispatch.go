package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/relay/webhook"
	"github.com/openqq-relay/openqq/store"
)

// dispatchConfig is the environment of the webhook dispatcher: `openqq
// dispatch` alone, and the dispatcher and poll_api heartbeat that `openqq
// connector` and `openqq up` run in-process.
type dispatchConfig struct {
	RedisURL openqq.Secret `env:"OPENQQ_REDIS_URL"` // may hold a password
	Account  string        `env:"OPENQQ_ACCOUNT" envDefault:"default"`

	PostAPI       string        `env:"OPENQQ_POST_API"`                      // url[,url…]
	PostReply     string        `env:"OPENQQ_POST_REPLY" envDefault:"first"` // first, all or none may reply
	WebhookSecret openqq.Secret `env:"OPENQQ_WEBHOOK_SECRET"`                // secret[,secret…]
	PostEvent     bool          `env:"OPENQQ_POST_EVENT" envDefault:"true"`
	PostEventList []string      `env:"OPENQQ_POST_EVENT_LIST" envSeparator:","`
	PostStdout    bool          `env:"OPENQQ_POST_STDOUT"`
	ReplyToSent   bool          `env:"OPENQQ_REPLY_TO_SENT"`

	Timeout       time.Duration   `env:"OPENQQ_WEBHOOK_TIMEOUT" envDefault:"15s"`
	ReplyTimeout  time.Duration   `env:"OPENQQ_WEBHOOK_REPLY_TIMEOUT" envDefault:"5s"`
	RetrySchedule []time.Duration `env:"OPENQQ_WEBHOOK_RETRY_SCHEDULE" envSeparator:"," envDefault:"0s,1s,5s,30s,2m,10m,1h"`
	EventTTL      time.Duration   `env:"OPENQQ_WEBHOOK_TTL" envDefault:"24h"`
	ReplyMaxAge   time.Duration   `env:"OPENQQ_WEBHOOK_REPLY_MAX_AGE" envDefault:"10m"`

	AdminListen string        `env:"OPENQQ_ADMIN_LISTEN"` // admin API, /metrics, /healthz; empty: none
	AdminToken  openqq.Secret `env:"OPENQQ_ADMIN_TOKEN"`  // token[,token…]; else the read-write API tokens
	APITokens   openqq.Secret `env:"OPENQQ_API_TOKENS"`
	AllowNoAuth bool          `env:"OPENQQ_ALLOW_NO_AUTH"`

	PollAPI      string        `env:"OPENQQ_POLL_API"`
	PollInterval time.Duration `env:"OPENQQ_POLL_INTERVAL" envDefault:"5s"`
	Logging

	// Parsed by Validate.
	subscribers []webhook.Subscriber
	secrets     []string
	adminTokens []openqq.Secret
}

// maxAttemptTimeout bounds the attempt timeouts (a receiver that takes
// longer holds its subscriber's queue for nothing).
const maxAttemptTimeout = 2 * time.Minute

// Validate checks the configuration and parses the lists; each error names
// its variable. OPENQQ_REDIS_URL is runDispatch's to check: `openqq up`
// may run on its embedded Redis.
func (c *dispatchConfig) Validate() error {
	var errs []error
	bad := func(v, format string, args ...any) {
		errs = append(errs, &ConfigError{Var: v, Err: fmt.Errorf(format, args...)})
	}
	if !relay.ValidAccount(c.Account) {
		bad("OPENQQ_ACCOUNT", "%q is not an account name (letters, digits, _.@-)", c.Account)
	}
	if err := c.parseSubscribers(); err != nil {
		errs = append(errs, err)
	}
	for s := range strings.SplitSeq(string(c.WebhookSecret), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	if _, err := webhook.NewSigner(c.secrets); err != nil {
		bad("OPENQQ_WEBHOOK_SECRET", "%v", err)
	}
	for _, d := range []struct {
		v   string
		d   time.Duration
		max time.Duration
	}{
		{"OPENQQ_WEBHOOK_TIMEOUT", c.Timeout, maxAttemptTimeout},
		{"OPENQQ_WEBHOOK_REPLY_TIMEOUT", c.ReplyTimeout, 30 * time.Second},
		{"OPENQQ_WEBHOOK_TTL", c.EventTTL, 30 * 24 * time.Hour},
		{"OPENQQ_WEBHOOK_REPLY_MAX_AGE", c.ReplyMaxAge, 30 * 24 * time.Hour},
		{"OPENQQ_POLL_INTERVAL", c.PollInterval, time.Hour},
	} {
		if d.d <= 0 || d.d > d.max {
			bad(d.v, "%s: must be more than 0 and at most %s", d.d, d.max)
		}
	}
	if len(c.RetrySchedule) == 0 || len(c.RetrySchedule) > 50 {
		bad("OPENQQ_WEBHOOK_RETRY_SCHEDULE", "want 1 to 50 waits, e.g. 0s,1s,5s,30s,2m,10m,1h")
	}
	for _, d := range c.RetrySchedule {
		if d < 0 || d > 7*24*time.Hour {
			bad("OPENQQ_WEBHOOK_RETRY_SCHEDULE", "%s: each wait must be 0 to 168h", d)
			break
		}
	}
	if c.PollAPI != "" {
		if u, err := url.Parse(c.PollAPI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OPENQQ_POLL_API", "must be an http(s) URL")
		}
	}
	if err := c.parseAdmin(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Logging.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// parseSubscribers reads OPENQQ_POST_API and the options every configured
// subscriber shares.
func (c *dispatchConfig) parseSubscribers() error {
	switch c.PostReply {
	case "first", "all", "none":
	default:
		return &ConfigError{Var: "OPENQQ_POST_REPLY", Err: fmt.Errorf("%q: want first, all or none", c.PostReply)}
	}
	var list []string
	for _, e := range c.PostEventList {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	postEvent := c.PostEvent
	n := 0
	for raw := range strings.SplitSeq(c.PostAPI, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ConfigError{Var: "OPENQQ_POST_API", Err: fmt.Errorf("URL %d is not an http(s) URL", n+1)}
		}
		c.subscribers = append(c.subscribers, webhook.Subscriber{
			URL:           raw,
			Reply:         c.PostReply == "all" || (c.PostReply == "first" && n == 0),
			PostEvent:     &postEvent,
			PostEventList: list,
		})
		n++
	}
	return nil
}

// parseAdmin picks the admin tokens and refuses an open admin listener.
func (c *dispatchConfig) parseAdmin() error {
	for t := range strings.SplitSeq(string(c.AdminToken), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.adminTokens = append(c.adminTokens, openqq.Secret(t))
		}
	}
	if len(c.adminTokens) == 0 {
		tokens, err := relay.ParseTokens(string(c.APITokens))
		if err != nil {
			return &ConfigError{Var: "OPENQQ_API_TOKENS", Err: err}
		}
		for _, t := range tokens {
			if !t.ReadOnly {
				c.adminTokens = append(c.adminTokens, t.Value)
			}
		}
	}
	if c.AdminListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
		return &ConfigError{Var: "OPENQQ_ADMIN_LISTEN", Err: errors.New("want host:port, e.g. 127.0.0.1:5002")}
	}
	if !isLoopback(c.AdminListen) && len(c.adminTokens) == 0 && !c.AllowNoAuth {
		return &ConfigError{Var: "OPENQQ_ADMIN_TOKEN", Err: fmt.Errorf(
			"required to listen on %s, which is not a loopback address (or set OPENQQ_ALLOW_NO_AUTH=true)", c.AdminListen)}
	}
	return nil
}

// logEffective logs the configuration once at start-up, secrets left out.
func (c *dispatchConfig) logEffective(log *slog.Logger) {
	urls := make([]string, len(c.subscribers))
	for i, s := range c.subscribers {
		u, _ := url.Parse(s.URL)
		u.User, u.RawQuery = nil, ""
		urls[i] = u.String()
		if s.Reply {
			urls[i] += " (reply)"
		}
	}
	log.Info("dispatch config",
		openqq.LogKeyAccount, c.Account, "post_api", urls, "secrets", len(c.secrets),
		"post_event", c.PostEvent, "post_event_list", c.PostEventList, "post_stdout", c.PostStdout,
		"reply_to_sent", c.ReplyToSent, "timeout", c.Timeout, "reply_timeout", c.ReplyTimeout,
		"retry_schedule", c.RetrySchedule, "ttl", c.EventTTL, "reply_max_age", c.ReplyMaxAge,
		"admin_listen", c.AdminListen, "admin_tokens", len(c.adminTokens),
		"poll_api", c.PollAPI != "", "poll_interval", c.PollInterval, "log_level", c.Level)
}

// loadDispatchConfig reads and checks the dispatcher's environment (nil:
// the process environment).
func loadDispatchConfig(environ map[string]string) (*dispatchConfig, error) {
	cfg, err := parseEnv[dispatchConfig](environ)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// startDispatch builds the dispatcher, registers the configured subscribers
// (so that no event appended after it returns is missed: call it before the
// connector starts) and runs it in g. `openqq connector` and `openqq up` call
// it with loadDispatchConfig's result to run the dispatcher in-process, and
// serve d.AdminHandler() (paths /webhook/…) on their admin listener, or
// dispatchAdminHandler with /metrics and /healthz.
func startDispatch(ctx context.Context, g *errgroup.Group, cfg *dispatchConfig, db *store.DB, log *slog.Logger, reg prometheus.Registerer) (*webhook.Dispatcher, error) {
	stdoutFilter := webhook.Subscriber{PostEvent: &cfg.PostEvent}
	if len(cfg.subscribers) > 0 {
		stdoutFilter.PostEventList = cfg.subscribers[0].PostEventList
	}
	d, err := webhook.New(webhook.Options{
		Store:        db,
		Account:      cfg.Account,
		Subscribers:  cfg.subscribers,
		PostStdout:   cfg.PostStdout,
		StdoutFilter: stdoutFilter,
		Secrets:      cfg.secrets,
		Timeout:      cfg.Timeout,
		ReplyTimeout: cfg.ReplyTimeout,
		Policy:       webhook.Policy{Schedule: cfg.RetrySchedule, EventTTL: cfg.EventTTL},
		ReplyToSent:  cfg.ReplyToSent,
		ReplyMaxAge:  cfg.ReplyMaxAge,
		AdminTokens:  cfg.adminTokens,
		Logger:       log,
		Registry:     reg,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	if err := d.Sync(ctx); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	g.Go(func() error { return d.Run(ctx) })
	return d, nil
}

// startHeartbeat runs the poll_api heartbeat in g when OPENQQ_POLL_API is
// set; it returns nil otherwise.
func startHeartbeat(ctx context.Context, g *errgroup.Group, cfg *dispatchConfig, db *store.DB, log *slog.Logger, reg prometheus.Registerer) (*connector.Heartbeat, error) {
	if cfg.PollAPI == "" {
		return nil, nil
	}
	h, err := connector.NewHeartbeat(connector.HeartbeatOptions{
		URL: cfg.PollAPI, Interval: cfg.PollInterval, Store: db, Account: cfg.Account, Logger: log, Registry: reg,
	})
	if err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	g.Go(func() error { return h.Run(ctx) })
	return h, nil
}

// runDispatch runs the webhook dispatcher (and the poll_api heartbeat when
// configured) until ctx ends.
func runDispatch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("openqq dispatch takes no arguments: configure it with OPENQQ_* variables")
	}
	cfg, err := loadDispatchConfig(nil)
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return &ConfigError{Var: "OPENQQ_REDIS_URL", Err: errors.New("required (redis://host:port/db)")}
	}
	log := cfg.Logger()
	slog.SetDefault(log)
	cfg.logEffective(log)
	if len(cfg.subscribers) == 0 && !cfg.PostStdout {
		log.Info("no OPENQQ_POST_API: delivering only to subscribers added through the admin API")
	}
	db, err := store.Open(ctx, store.Options{URL: string(cfg.RedisURL), Logger: log})
	if err != nil {
		return fmt.Errorf("openqq dispatch: %w", err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g, gctx := errgroup.WithContext(ctx)
	d, err := startDispatch(gctx, g, cfg, db, log, reg)
	if err != nil {
		return fmt.Errorf("openqq dispatch: %w", err)
	}
	if _, err := startHeartbeat(gctx, g, cfg, db, log, reg); err != nil {
		return fmt.Errorf("openqq dispatch: %w", err)
	}
	if cfg.AdminListen != "" {
		h := dispatchAdminHandler(d, db, reg, cfg.adminTokens)
		g.Go(func() error { return serveAdmin(gctx, cfg.AdminListen, h, log) })
	}
	return g.Wait()
}

// dispatchAdminHandler serves the webhook admin API, GET /metrics (behind
// the admin tokens when there are any) and GET /healthz (open: 200 while
// Redis answers).
func dispatchAdminHandler(d *webhook.Dispatcher, db *store.DB, reg *prometheus.Registry, tokens []openqq.Secret) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/webhook/", d.AdminHandler())
	var metrics http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if len(tokens) > 0 {
		metrics = webhook.RequireToken(tokens, metrics)
	}
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		if db.Ping(ctx) != nil {
			status, code = "redis unreachable", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
	})
	return mux
}

// serveAdmin serves h on addr until ctx ends, then shuts down.
func serveAdmin(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("admin listener up", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("admin listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	return nil
}
