package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve runs a Server for e's handler on a loopback port and returns its
// base URL and a stop function that returns Serve's result.
func (e *env) serve(certFile, keyFile string) (string, func() error) {
	e.t.Helper()
	return e.serveWith(&Server{Handler: e.h, CertFile: certFile, KeyFile: keyFile})
}

func (e *env) serveWith(srv *Server) (string, func() error) {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	e.t.Cleanup(func() { stop() })
	scheme := "http"
	if srv.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String(), stop
}

func TestServerGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHold(2*time.Second)).seed()
	base, stop := e.serve("", "")
	e.url, e.client = base, &http.Client{}
	if res := e.do(get("/openqq/get_user_info")); res.status != http.StatusOK {
		t.Fatalf("served %d", res.status)
	}
	// A poll in flight when shutdown starts still gets its answer.
	got := make(chan response, 1)
	go func() { got <- e.do(get("/openqq/check_event")) }()
	e.awaitWaiters(1)
	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v after shutdown", err)
	}
	if res := <-got; res.status != http.StatusOK || string(res.body) != "[]" {
		t.Errorf("the poll in flight got %d %q", res.status, res.body)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServerTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	cert, key, pool := selfSigned(t)
	base, stop := e.serve(cert, key)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get(base + "/openqq/get_user_info")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil {
		t.Errorf("https: %d %s", res.StatusCode, b)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// TestServerRoutes: extra routes share the listener, the relay answers
// what they do not match, and a bad pattern is an error.
func TestServerRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "extra") })
	base, stop := e.serveWith(&Server{Handler: e.h, Routes: map[string]http.Handler{"POST /extra": extra}})
	e.url, e.client = base, &http.Client{}
	if res := e.do(postForm("/extra", "")); res.status != http.StatusOK || string(res.body) != "extra" {
		t.Errorf("POST /extra: %d %q", res.status, res.body)
	}
	if res := e.do(get("/extra")); res.status != http.StatusForbidden || res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /extra, which only the relay takes: %d %q", res.status, res.body)
	}
	if res := e.do(get("/openqq/get_user_info")); res.status != http.StatusOK {
		t.Errorf("the relay behind the routes: %d %q", res.status, res.body)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve returned %v after shutdown", err)
	}

	for _, pattern := range []string{"GET pot", "/"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{Handler: e.h, Routes: map[string]http.Handler{pattern: extra}}
		if err := srv.Serve(t.Context(), ln); err == nil || !strings.Contains(err.Error(), pattern) {
			t.Errorf("Serve with the route %q: %v, want an error naming it", pattern, err)
		}
		ln.Close()
	}
}

func TestServerRunBadAddr(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := &Server{Handler: e.h, Addr: "127.0.0.1:-1"}
	if err := srv.Run(t.Context()); err == nil {
		t.Error("Run on a bad address returned nil")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "openqq test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
