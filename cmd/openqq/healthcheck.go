package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck probes a /healthz endpoint for container health checks:
// the image has no shell, curl or wget. With no argument it probes the admin
// listener (OPENQQ_ADMIN_LISTEN); a 2xx answer exits 0, anything else 1.
func runHealthcheck(ctx context.Context, args []string) error {
	url := ""
	if len(args) > 0 {
		url = args[0]
	} else {
		url = "http://" + probeAddr(os.Getenv("OPENQQ_ADMIN_LISTEN")) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("healthcheck: %s answered %s", url, res.Status)
	}
	return nil
}

// probeAddr turns a listen address into one to connect to: a wildcard or
// empty host becomes the loopback address.
func probeAddr(listen string) string {
	if listen == "" {
		listen = defaultAdminListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" || host == "[::]" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// defaultAdminListen is where the connector and dispatcher serve /healthz
// and /metrics unless OPENQQ_ADMIN_LISTEN says otherwise.
const defaultAdminListen = "127.0.0.1:9090"
