package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var urlTests = []struct {
	url  string
	want string // summary of the endpoint, see summarize
}{
	{"redis://127.0.0.1:6379/2", "single tcp 127.0.0.1:6379 db=2 user= pass= tls=false"},
	{"redis://user:p%40ss@h:1/0", "single tcp h:1 db=0 user=user pass=p@ss tls=false"},
	{"redis://:secret@h:1", "single tcp h:1 db=0 user= pass=secret tls=false"},
	{"rediss://app:secret@cache.example:6380/1", "single tcp cache.example:6380 db=1 user=app pass=secret tls=true sni=cache.example"},
	{"unix:///run/redis.sock?db=3", "single unix /run/redis.sock db=3 user= pass= tls=false"},
	{"h1:6379", "single tcp h1:6379 db=0 user= pass= tls=false"},
	{"redis+sentinel://u:p@h1:26379,h2:26380/mymaster/3?sentinel_password=sp",
		"sentinel mymaster [h1:26379 h2:26380] db=3 user=u pass=p sentinel=:sp tls=false"},
	{"redis+sentinel://h1:26379/mymaster", "sentinel mymaster [h1:26379] db=0 user= pass= sentinel=: tls=false"},
	{"rediss+sentinel://h1:26379/m?sentinel_username=su", "sentinel m [h1:26379] db=0 user= pass= sentinel=su: tls=true"},
	{"redis+cluster://h1:7000,h2:7001,h3:7002", "cluster [h1:7000 h2:7001 h3:7002] user= pass= tls=false"},
	{"rediss+cluster://app:s%3Acret@h1:7000/0", "cluster [h1:7000] user=app pass=s:cret tls=true"},
	{" h1:7000, h2:7001 ", "cluster [h1:7000 h2:7001] user= pass= tls=false"},
	{"REDIS+CLUSTER://h1:7000", "cluster [h1:7000] user= pass= tls=false"},
}

var badURLTests = []string{
	"",
	"   ",
	"http://h:1",
	"redis+sentinel://h1:26379",
	"redis+sentinel://h1:26379/m/x",
	"redis+sentinel://h1:26379/m/1/2",
	"redis+sentinel://h1:26379/m?db=1",
	"redis+cluster://h1:7000/3",
	"redis+cluster://h1:7000?read_only=1",
	"redis+cluster://h1",
	"redis+cluster://h1:7000,",
	"redis+cluster://:7000",
	"h1:notaport",
	"h1:0",
	"h1:70000",
	"redis://h:1/notadb",
	"redis+cluster://u:%zz@h1:7000",
}

func summarize(ep *endpoint) string {
	switch {
	case ep.cluster != nil:
		o := ep.cluster
		return fmt.Sprintf("cluster %v user=%s pass=%s tls=%v", o.Addrs, o.Username, o.Password, o.TLSConfig != nil)
	case ep.sentinel != nil:
		o := ep.sentinel
		return fmt.Sprintf("sentinel %s %v db=%d user=%s pass=%s sentinel=%s:%s tls=%v", o.MasterName, o.SentinelAddrs,
			o.DB, o.Username, o.Password, o.SentinelUsername, o.SentinelPassword, o.TLSConfig != nil)
	}
	o := ep.single
	s := fmt.Sprintf("single %s %s db=%d user=%s pass=%s tls=%v", o.Network, o.Addr, o.DB, o.Username, o.Password, o.TLSConfig != nil)
	if o.TLSConfig != nil {
		s += " sni=" + o.TLSConfig.ServerName
	}
	return s
}

func TestParseURL(t *testing.T) {
	for _, tt := range urlTests {
		ep, err := parseURL(tt.url, nil)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if got := summarize(ep); got != tt.want {
			t.Errorf("parseURL(%q)\n got %s\nwant %s", tt.url, got, tt.want)
		}
	}
	for _, u := range badURLTests {
		if ep, err := parseURL(u, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseURL(%q) = %v, %v; want ErrInvalid", u, ep, err)
		}
	}
}

func TestParseURLNeverShowsPassword(t *testing.T) {
	for _, u := range []string{"redis://u:hunter2@h:1/notadb", "redis://u:hunter2@h:1/0?pool_size=x"} {
		_, err := parseURL(u, nil)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseURL(%q) error %v shows the password", u, err)
		}
	}
}

func TestParseURLTLSBase(t *testing.T) {
	pool := x509.NewCertPool()
	base := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	ep, err := parseURL("rediss://cache.example:6380", base)
	if err != nil {
		t.Fatal(err)
	}
	c := ep.single.TLSConfig
	if c == base || c.RootCAs != pool || c.ServerName != "cache.example" || c.MinVersion != tls.VersionTLS13 {
		t.Errorf("TLS config = %+v", c)
	}
	if base.ServerName != "" {
		t.Error("the caller's TLS config was modified")
	}
	ep, _ = parseURL("rediss+cluster://h1:7000", base)
	if ep.cluster.TLSConfig.RootCAs != pool || ep.cluster.TLSConfig.ServerName != "" {
		t.Errorf("cluster TLS config = %+v", ep.cluster.TLSConfig)
	}
	if ep, _ := parseURL("redis://h:1", base); ep.single.TLSConfig != nil {
		t.Error("TLS on a redis:// URL")
	}
}

// TestClientOptions checks what every client gets: its own pool size,
// ContextTimeoutEnabled, and room above the longest block for blocking reads.
func TestClientOptions(t *testing.T) {
	for _, u := range []string{"redis://h:1/2", "redis+cluster://h1:1,h2:2", "redis+sentinel://h:1/m"} {
		ep, err := parseURL(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		short, block := ep.client(7, 0, "openqq"), ep.client(33, maxBlock+5*time.Second, "openqq:block")
		for _, c := range []struct {
			c        redis.UniversalClient
			pool     int
			blocking bool
		}{{short, 7, false}, {block, 33, true}} {
			var pool int
			var ctxTimeout bool
			var readTimeout time.Duration
			switch cl := c.c.(type) {
			case *redis.Client:
				o := cl.Options()
				pool, ctxTimeout, readTimeout = o.PoolSize, o.ContextTimeoutEnabled, o.ReadTimeout
				if c.blocking && o.PipelinePoolSize >= 0 {
					t.Errorf("%s: blocking client pipelines on a pipeline pool of %d", u, o.PipelinePoolSize)
				}
			case *redis.ClusterClient:
				o := cl.Options()
				pool, ctxTimeout, readTimeout = o.PoolSize, o.ContextTimeoutEnabled, o.ReadTimeout
			default:
				t.Fatalf("%s: client %T", u, c.c)
			}
			if pool != c.pool || !ctxTimeout || (c.blocking && readTimeout <= maxBlock) {
				t.Errorf("%s: pool %d, ContextTimeoutEnabled %v, ReadTimeout %v", u, pool, ctxTimeout, readTimeout)
			}
			c.c.Close()
		}
	}
	if _, err := Open(t.Context(), Options{URL: "redis://h:1", ReplyGrace: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(negative grace) = %v", err)
	}
	if _, err := Open(t.Context(), Options{URL: "http://nope"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(bad url) = %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := Open(ctx, Options{URL: "redis://127.0.0.1:1/0"}); err == nil {
		t.Error("Open of a closed port: no error")
	}
}

// TestOpenTLS connects over rediss:// with AUTH to a redis-server that
// serves TLS with a certificate of a private CA.
func TestOpenTLS(t *testing.T) {
	needRedisServer(t)
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := selfSignedTLS(t)
	for name, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	base := &tls.Config{RootCAs: pool}
	port := freePort(t)
	url := fmt.Sprintf("rediss://:s3cret@localhost:%d/0", port)
	startRedisServer(t, 0, func(ctx context.Context) error {
		db, err := Open(ctx, Options{URL: url, TLSConfig: base})
		if err != nil {
			return err
		}
		return db.Close()
	},
		"--port", "0", "--tls-port", fmt.Sprint(port), "--requirepass", "s3cret",
		"--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no")

	db, err := Open(t.Context(), Options{URL: url, TLSConfig: base})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SaveCookies(t.Context(), "tls", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Cookies(t.Context(), "tls"); err != nil || string(got) != "{}" {
		t.Errorf("Cookies over TLS = %q, %v", got, err)
	}
	bad := fmt.Sprintf("rediss://:wrong-pass@localhost:%d/0", port)
	if _, err := Open(t.Context(), Options{URL: bad, TLSConfig: base}); err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Open(t.Context(), Options{URL: url}); err == nil {
		t.Error("a private CA's certificate passed with the system roots")
	}
	plain := fmt.Sprintf("redis://:s3cret@localhost:%d/0", port)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := Open(ctx, Options{URL: plain}); err == nil {
		t.Error("plain connection to a TLS port worked")
	}
}

// selfSignedTLS makes a CA and a server certificate for localhost and
// 127.0.0.1.
func selfSignedTLS(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openqq test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
