package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/openqq-relay/openqq"
)

// Server runs a Handler as a plain HTTP or HTTPS server.
type Server struct {
	Handler *Handler
	// Routes are served on the same listener beside the relay, by
	// http.ServeMux patterns such as "POST /sandbox/confirm"; the relay
	// answers every request they do not match. They get the relay's limits
	// and its graceful shutdown.
	Routes map[string]http.Handler
	// Addr is where Run listens, e.g. "127.0.0.1:5000".
	Addr string
	// CertFile and KeyFile switch to HTTPS when both are set ([GO] spec
	// §6.1: the original ignored its TLS options).
	CertFile, KeyFile string
}

// Run listens on s.Addr and serves until ctx ends; see Serve.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully: no new
// connections, and requests in flight (a check_event hold, a command
// waiting for its answer) finish. It returns nil after a shutdown caused by
// ctx. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	h := s.Handler
	handler, err := s.routes()
	if err != nil {
		ln.Close()
		return err
	}
	// The longest request holds a check_event poll or waits for a command,
	// whose store wait may run a little past its deadline.
	longest := max(h.opts.CheckEventTimeout, h.opts.CommandTimeout) + 5*time.Second
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      longest + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	tlsOn := s.CertFile != "" && s.KeyFile != ""
	h.log.InfoContext(ctx, "relay listening", "addr", ln.Addr().String(), "tls", tlsOn)
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, s.CertFile, s.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("relay: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), longest)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		h.log.WarnContext(ctx, "relay shutdown cut short", openqq.LogKeyErr, err)
		err = errors.Join(err, srv.Close())
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("relay: shutdown: %w", err)
	}
	return nil
}

// routes is the relay alone, or a mux of s.Routes with the relay as its
// fallback. A malformed or conflicting pattern is an error, not
// http.ServeMux's panic.
func (s *Server) routes() (_ http.Handler, err error) {
	if len(s.Routes) == 0 {
		return s.Handler, nil
	}
	mux := http.NewServeMux()
	pattern := ""
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relay: route %q: %v", pattern, p)
		}
	}()
	for pattern = range s.Routes {
		mux.Handle(pattern, s.Routes[pattern])
	}
	pattern = "/"
	mux.Handle(pattern, s.Handler)
	return mux, nil
}
