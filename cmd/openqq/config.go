package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Configuration comes from the environment only (caarlos0/env). Each
// subcommand declares its own struct beside its run function; what several
// of them share lives here.

// ConfigError names the variable whose value is wrong.
type ConfigError struct {
	Var string
	Err error
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// parseEnv fills a config struct from environ (nil means the process
// environment), applying its envDefault tags. Malformed values are
// ConfigErrors that name their variable.
func parseEnv[T any](environ map[string]string) (T, error) {
	cfg, err := env.ParseAsWithOptions[T](env.Options{Environment: environ})
	if err == nil {
		return cfg, nil
	}
	var errs []error
	if agg, ok := errors.AsType[env.AggregateError](err); ok {
		for _, e := range agg.Errors {
			errs = append(errs, namedEnvError[T](e))
		}
	} else {
		errs = append(errs, err)
	}
	var zero T
	return zero, errors.Join(errs...)
}

// namedEnvError turns env's "parse error on field X" into a ConfigError
// naming the variable that field reads.
func namedEnvError[T any](err error) error {
	pe, ok := errors.AsType[env.ParseError](err)
	if !ok {
		return fmt.Errorf("config: %w", err)
	}
	f, ok := reflect.TypeFor[T]().FieldByName(pe.Name)
	if !ok {
		return fmt.Errorf("config: %w", err)
	}
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return &ConfigError{Var: name, Err: pe.Err}
}

// Logging is the log configuration every subcommand shares.
type Logging struct {
	Level string `env:"OPENQQ_LOG_LEVEL" envDefault:"info"`
}

// Validate checks the level.
func (c Logging) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return &ConfigError{Var: "OPENQQ_LOG_LEVEL", Err: err}
	}
	return nil
}

// Logger returns a text logger on stderr at the configured level.
func (c Logging) Logger() *slog.Logger {
	lvl, _ := parseLevel(c.Level) // Validate ran first; a bad level means info
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

func parseLevel(s string) (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo, errors.New("must be debug, info, warn or error")
	}
	return lvl, nil
}

// isLoopback reports whether a listen address (host:port) accepts only
// local connections: a loopback IP or "localhost". An empty host listens
// everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
