package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector/sandbox"
)

// sandboxConfig is the environment of openqq sandbox. Sizes: 0 means the
// sandbox default, a negative number means none.
type sandboxConfig struct {
	Listen                string        `env:"OPENQQ_SANDBOX_LISTEN" envDefault:"127.0.0.1:5100"`
	AllowRemote           bool          `env:"OPENQQ_SANDBOX_ALLOW_REMOTE"`
	Seed                  int64         `env:"OPENQQ_SANDBOX_SEED" envDefault:"1"`
	Friends               int           `env:"OPENQQ_SANDBOX_FRIENDS"`
	Groups                int           `env:"OPENQQ_SANDBOX_GROUPS"`
	MembersPerGroup       int           `env:"OPENQQ_SANDBOX_MEMBERS_PER_GROUP"`
	Discusses             int           `env:"OPENQQ_SANDBOX_DISCUSSES"`
	DiscussMembers        int           `env:"OPENQQ_SANDBOX_DISCUSS_MEMBERS"`
	SelfUID               int64         `env:"OPENQQ_SANDBOX_SELF_UID"`
	SelfNick              string        `env:"OPENQQ_SANDBOX_SELF_NICK"`
	Password              string        `env:"OPENQQ_SANDBOX_PASSWORD"`
	AcceptSealedPasswords bool          `env:"OPENQQ_SANDBOX_ACCEPT_SEALED_PASSWORDS"`
	AutoScanAfter         int           `env:"OPENQQ_SANDBOX_AUTO_SCAN_AFTER"`
	AutoConfirmAfter      int           `env:"OPENQQ_SANDBOX_AUTO_CONFIRM_AFTER"`
	QRLifetime            int           `env:"OPENQQ_SANDBOX_QR_LIFETIME"`
	PollHold              time.Duration `env:"OPENQQ_SANDBOX_POLL_HOLD" envDefault:"30s"`
}

func (c sandboxConfig) validate() error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("OPENQQ_SANDBOX_LISTEN: %w", err)
	}
	// The control API under /sandbox/ has no authentication.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && !c.AllowRemote {
		return fmt.Errorf("OPENQQ_SANDBOX_LISTEN: %s is not a loopback address; set OPENQQ_SANDBOX_ALLOW_REMOTE=true to serve the unauthenticated control API there", c.Listen)
	}
	switch {
	case c.AutoScanAfter < 0:
		return errors.New("OPENQQ_SANDBOX_AUTO_SCAN_AFTER: must be ≥ 0")
	case c.AutoConfirmAfter < 0:
		return errors.New("OPENQQ_SANDBOX_AUTO_CONFIRM_AFTER: must be ≥ 0")
	case c.QRLifetime < 0:
		return errors.New("OPENQQ_SANDBOX_QR_LIFETIME: must be ≥ 0")
	case c.PollHold <= 0:
		return errors.New("OPENQQ_SANDBOX_POLL_HOLD: must be > 0")
	}
	return nil
}

// runSandbox serves the SmartQQ sandbox alone until ctx ends.
func runSandbox(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("openqq sandbox: unexpected arguments %q (configure with OPENQQ_SANDBOX_* variables)", args)
	}
	var cfg sandboxConfig
	if err := env.Parse(&cfg); err != nil {
		return fmt.Errorf("openqq sandbox: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("openqq sandbox: %w", err)
	}
	log := slog.Default().With(openqq.LogKeyComponent, "sandbox")
	srv := sandbox.NewUnstartedServer(sandbox.Options{
		Seed: cfg.Seed, Friends: cfg.Friends, Groups: cfg.Groups, MembersPerGroup: cfg.MembersPerGroup,
		Discusses: cfg.Discusses, DiscussMembers: cfg.DiscussMembers, SelfUID: cfg.SelfUID, SelfNick: cfg.SelfNick,
		Password: cfg.Password, AcceptSealedPasswords: cfg.AcceptSealedPasswords,
		AutoScanAfter: cfg.AutoScanAfter, AutoConfirmAfter: cfg.AutoConfirmAfter, QRLifetime: cfg.QRLifetime,
		PollHold: cfg.PollHold, Logger: slog.Default(),
	})
	defer srv.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("openqq sandbox: listen: %w", err)
	}
	self := srv.World().Self
	log.Info("sandbox listening", "addr", ln.Addr().String(), "seed", cfg.Seed, "self_uid", self.UID,
		"self_nick", self.Nick, "password", openqq.Secret(cfg.Password), "poll_hold", cfg.PollHold)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("openqq sandbox: serve: %w", err)
	case <-ctx.Done():
	}
	// Held polls end first, so that Shutdown finds every handler done soon.
	srv.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("openqq sandbox: shutdown: %w", err)
	}
	<-served
	log.Info("sandbox stopped")
	return nil
}
