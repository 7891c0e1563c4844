package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay"
	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/store"
)

// relayConfig is the environment of `openqq relay`. `openqq up` can parse
// it too (parseEnv), fill RedisURL with its embedded Redis, then Validate.
type relayConfig struct {
	RedisURL          openqq.Secret `env:"OPENQQ_REDIS_URL"` // may hold a password
	Account           string        `env:"OPENQQ_ACCOUNT" envDefault:"default"`
	Listen            string        `env:"OPENQQ_LISTEN" envDefault:"127.0.0.1:5000"`
	APITokens         openqq.Secret `env:"OPENQQ_API_TOKENS"` // "tok1,tok2:ro"
	AllowNoAuth       bool          `env:"OPENQQ_ALLOW_NO_AUTH"`
	CheckEventTimeout time.Duration `env:"OPENQQ_CHECK_EVENT_TIMEOUT" envDefault:"30s"`
	CommandTimeout    time.Duration `env:"OPENQQ_COMMAND_TIMEOUT" envDefault:"30s"`
	HeartbeatTimeout  time.Duration `env:"OPENQQ_HEARTBEAT_TIMEOUT" envDefault:"15s"`
	TLSCert           string        `env:"OPENQQ_TLS_CERT"`
	TLSKey            string        `env:"OPENQQ_TLS_KEY"`
	ConfirmScanURL    string        `env:"OPENQQ_CONFIRM_SCAN_URL"`
	LambdaRuntimeAPI  string        `env:"AWS_LAMBDA_RUNTIME_API"` // set by Lambda: run as a function
	Logging

	tokens []relay.Token // parsed by Validate
}

// maxWait bounds the configurable waits: beyond it a request outlives any
// sane client or proxy timeout.
const maxWait = 10 * time.Minute

// Validate checks the configuration and parses the token list; each error
// names its variable.
func (c *relayConfig) Validate() error {
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
	tokens, err := relay.ParseTokens(string(c.APITokens))
	if err != nil {
		bad("OPENQQ_API_TOKENS", "%v", err)
	}
	c.tokens = tokens
	for _, d := range []struct {
		v string
		d time.Duration
	}{
		{"OPENQQ_CHECK_EVENT_TIMEOUT", c.CheckEventTimeout},
		{"OPENQQ_COMMAND_TIMEOUT", c.CommandTimeout},
		{"OPENQQ_HEARTBEAT_TIMEOUT", c.HeartbeatTimeout},
	} {
		if d.d <= 0 || d.d > maxWait {
			bad(d.v, "%s: must be more than 0 and at most %s", d.d, maxWait)
		}
	}
	errs = append(errs, c.validateListener()...)
	if c.ConfirmScanURL != "" {
		if u, err := url.Parse(c.ConfirmScanURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OPENQQ_CONFIRM_SCAN_URL", "must be an http(s) URL")
		}
	}
	if err := c.Logging.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateListener checks TLS and refuses an open relay: a listener that is
// not loopback (or any Lambda function URL) needs tokens unless the operator
// says otherwise.
func (c *relayConfig) validateListener() []error {
	var errs []error
	if c.LambdaRuntimeAPI == "" {
		if !isLoopback(c.Listen) && len(c.tokens) == 0 && !c.AllowNoAuth {
			errs = append(errs, &ConfigError{Var: "OPENQQ_API_TOKENS", Err: fmt.Errorf(
				"required to listen on %s, which is not a loopback address (or set OPENQQ_ALLOW_NO_AUTH=true)", c.Listen)})
		}
	} else if len(c.tokens) == 0 && !c.AllowNoAuth {
		errs = append(errs, &ConfigError{Var: "OPENQQ_API_TOKENS", Err: errors.New(
			"required for a Lambda function (or set OPENQQ_ALLOW_NO_AUTH=true)")})
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		errs = append(errs, &ConfigError{Var: "OPENQQ_TLS_CERT", Err: errors.New("OPENQQ_TLS_CERT and OPENQQ_TLS_KEY go together")})
	case c.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			errs = append(errs, &ConfigError{Var: "OPENQQ_TLS_CERT", Err: fmt.Errorf("loading the key pair: %w", err)})
		}
	}
	return errs
}

// logEffective logs the configuration once at start-up, secrets left out.
func (c *relayConfig) logEffective(log *slog.Logger) {
	readOnly := 0
	for _, t := range c.tokens {
		if t.ReadOnly {
			readOnly++
		}
	}
	log.Info("relay config",
		openqq.LogKeyAccount, c.Account, "listen", c.Listen, "lambda", c.LambdaRuntimeAPI != "",
		"tokens", len(c.tokens), "read_only_tokens", readOnly, "allow_no_auth", c.AllowNoAuth,
		"check_event_timeout", c.CheckEventTimeout, "command_timeout", c.CommandTimeout,
		"heartbeat_timeout", c.HeartbeatTimeout, "tls", c.TLSCert != "",
		"confirm_scan_url", c.ConfirmScanURL != "", "log_level", c.Level)
}

// loadRelayConfig reads and checks the relay's environment (nil: the
// process environment).
func loadRelayConfig(environ map[string]string) (*relayConfig, error) {
	cfg, err := parseEnv[relayConfig](environ)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// newRelayHandler builds the relay on an open store; `openqq up` uses it too,
// with the registry of its other parts, so that the relay's /metrics shows
// them all. A nil reg gives the relay a registry of its own.
func newRelayHandler(c *relayConfig, db *store.DB, log *slog.Logger, reg *prometheus.Registry) *relay.Handler {
	return relay.New(relay.Options{
		Store:             db,
		Account:           c.Account,
		Tokens:            c.tokens,
		CommandTimeout:    c.CommandTimeout,
		CheckEventTimeout: c.CheckEventTimeout,
		HeartbeatTimeout:  c.HeartbeatTimeout,
		ConfirmScanURL:    c.ConfirmScanURL,
		LogLevel:          c.Level,
		Registry:          reg,
		Logger:            log,
	})
}

// runRelay serves the Openqq API: as an HTTP(S) server until ctx ends, or
// as a Lambda function when AWS_LAMBDA_RUNTIME_API is set.
func runRelay(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("openqq relay takes no arguments: configure it with OPENQQ_* variables")
	}
	cfg, err := loadRelayConfig(nil)
	if err != nil {
		return err
	}
	log := cfg.Logger()
	slog.SetDefault(log)
	cfg.logEffective(log)
	so := store.Options{URL: string(cfg.RedisURL), Logger: log}
	if cfg.LambdaRuntimeAPI != "" {
		// One execution environment serves one request at a time: a
		// blocking read and a few short commands are all it needs, and a
		// small pool per container keeps a large fleet under Redis's
		// client limit.
		so.PoolSize, so.BlockingPoolSize = 2, 2
	}
	db, err := store.Open(ctx, so)
	if err != nil {
		return fmt.Errorf("openqq relay: %w", err)
	}
	defer db.Close()
	h := newRelayHandler(cfg, db, log, nil)
	if cfg.LambdaRuntimeAPI != "" {
		lambda.Start(h) // serves invocations until the environment is shut down
		return nil
	}
	srv := &relay.Server{Handler: h, Addr: cfg.Listen, CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey}
	return srv.Run(ctx)
}
