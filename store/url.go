package store

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// endpoint is a parsed Redis URL: exactly one of the three option sets is
// non-nil. Pool sizes and timeouts are applied later, per client.
type endpoint struct {
	single   *redis.Options
	sentinel *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// parseURL reads the URL forms Open accepts:
//
//	redis://[user:pass@]host:port[/db]        rediss:// for TLS; unix:// too
//	redis+sentinel://[user:pass@]h1:p1,h2:p2/mastername[/db]
//	redis+cluster://[user:pass@]h1:p1,h2:p2   rediss+… for TLS
//	h1:p1[,h2:p2…]                            one address: a node; several: a Cluster
//
// Errors never repeat the URL, which may hold a password.
func parseURL(raw string, tlsBase *tls.Config) (*endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: empty redis url", ErrInvalid)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		addrs, err := splitAddrs(raw)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 1 {
			return &endpoint{single: &redis.Options{Network: "tcp", Addr: addrs[0]}}, nil
		}
		return &endpoint{cluster: &redis.ClusterOptions{Addrs: addrs}}, nil
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: redis url: %s", ErrInvalid, redactURLError(err, raw))
		}
		if o.TLSConfig != nil && tlsBase != nil {
			c := tlsBase.Clone()
			if c.ServerName == "" {
				c.ServerName = o.TLSConfig.ServerName
			}
			c.InsecureSkipVerify = c.InsecureSkipVerify || o.TLSConfig.InsecureSkipVerify
			o.TLSConfig = c
		}
		return &endpoint{single: o}, nil
	case "redis+sentinel", "rediss+sentinel":
		return parseSentinel(rest, strings.HasPrefix(strings.ToLower(scheme), "rediss"), tlsBase)
	case "redis+cluster", "rediss+cluster":
		return parseCluster(rest, strings.HasPrefix(strings.ToLower(scheme), "rediss"), tlsBase)
	}
	return nil, fmt.Errorf("%w: redis url: unsupported scheme %q", ErrInvalid, scheme)
}

// multiHost is the common part of the sentinel and cluster forms.
type multiHost struct {
	user, pass string
	addrs      []string
	path       []string // path segments, empty ones dropped
	query      url.Values
}

func parseMultiHost(rest string) (*multiHost, error) {
	rest, rawQuery, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	m := &multiHost{}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		u, p, _ := strings.Cut(userinfo, ":")
		var err1, err2 error
		m.user, err1 = url.PathUnescape(u)
		m.pass, err2 = url.PathUnescape(p)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: redis url: bad escape in user info", ErrInvalid)
		}
	}
	addrs, err := splitAddrs(authority)
	if err != nil {
		return nil, err
	}
	m.addrs = addrs
	for seg := range strings.SplitSeq(path, "/") {
		if seg != "" {
			s, err := url.PathUnescape(seg)
			if err != nil {
				return nil, fmt.Errorf("%w: redis url: bad escape in path", ErrInvalid)
			}
			m.path = append(m.path, s)
		}
	}
	if m.query, err = url.ParseQuery(rawQuery); err != nil {
		return nil, fmt.Errorf("%w: redis url: bad query", ErrInvalid)
	}
	return m, nil
}

// splitAddrs splits "h1:p1,h2:p2" and checks every host:port.
func splitAddrs(s string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%w: redis url: address %q is not host:port", ErrInvalid, a)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("%w: redis url: bad port in %q", ErrInvalid, a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

func parseSentinel(rest string, useTLS bool, tlsBase *tls.Config) (*endpoint, error) {
	m, err := parseMultiHost(rest)
	if err != nil {
		return nil, err
	}
	if len(m.path) == 0 || len(m.path) > 2 {
		return nil, fmt.Errorf("%w: redis url: sentinel form is redis+sentinel://h1:p1,h2:p2/mastername[/db]", ErrInvalid)
	}
	o := &redis.FailoverOptions{
		MasterName:    m.path[0],
		SentinelAddrs: m.addrs,
		Username:      m.user,
		Password:      m.pass,
	}
	if len(m.path) == 2 {
		if o.DB, err = strconv.Atoi(m.path[1]); err != nil || o.DB < 0 {
			return nil, fmt.Errorf("%w: redis url: bad db number", ErrInvalid)
		}
	}
	for k, v := range m.query {
		switch k {
		case "sentinel_username":
			o.SentinelUsername = v[0]
		case "sentinel_password":
			o.SentinelPassword = v[0]
		default:
			return nil, fmt.Errorf("%w: redis url: unknown parameter %q", ErrInvalid, k)
		}
	}
	if useTLS {
		o.TLSConfig = tlsConfig(tlsBase)
	}
	return &endpoint{sentinel: o}, nil
}

func parseCluster(rest string, useTLS bool, tlsBase *tls.Config) (*endpoint, error) {
	m, err := parseMultiHost(rest)
	if err != nil {
		return nil, err
	}
	if len(m.path) > 1 || (len(m.path) == 1 && m.path[0] != "0") {
		return nil, fmt.Errorf("%w: redis url: a cluster has only db 0", ErrInvalid)
	}
	if len(m.query) > 0 {
		return nil, fmt.Errorf("%w: redis url: a cluster url takes no parameters", ErrInvalid)
	}
	o := &redis.ClusterOptions{Addrs: m.addrs, Username: m.user, Password: m.pass}
	if useTLS {
		o.TLSConfig = tlsConfig(tlsBase)
	}
	return &endpoint{cluster: o}, nil
}

// tlsConfig is the TLS setup for multi-host forms: the server name comes
// from each dialled address, so none is set here.
func tlsConfig(base *tls.Config) *tls.Config {
	if base != nil {
		return base.Clone()
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// redactURLError keeps go-redis's parse errors but never the password.
func redactURLError(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}
