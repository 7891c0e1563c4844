package webqq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const (
	defaultTimeout = 120 * time.Second // spec §12.3: total request timeout
	modelTimeout   = 15 * time.Second  // spec §16: model_update_timeout
	vfTimeout      = 10 * time.Second  // spec §15.3
	maxRedirects   = 7
	maxBody        = 32 << 20
	loginAttempts  = 5 // ua_retry_times
	modelAttempts  = 3
)

// call describes one request as the original makes it: a real host, a path
// and a query string built by plain concatenation (spec §12.2).
type call struct {
	api      string // short name for errors and logs
	method   string // GET unless set
	host     string // real host, e.g. s.web2.qq.com
	path     string
	query    string     // raw query string, used as is
	rawURL   string     // an absolute URL handed out by the server (check_sig)
	form     url.Values // POST body (application/x-www-form-urlencoded)
	referer  string
	timeout  time.Duration // per attempt; 0 means defaultTimeout
	attempts int           // blocking calls retry on network errors and non-2xx
}

type response struct {
	status int
	body   []byte
	url    *url.URL // after redirects
}

// hostMap maps real hosts to the base URLs that serve them.
type hostMap struct {
	endpoint *url.URL            // serves every host when set
	hosts    map[string]*url.URL // per real host
}

func newHostMap(endpoint string, hosts map[string]string) (hostMap, error) {
	var m hostMap
	parse := func(what, s string) (*url.URL, error) {
		u, err := url.Parse(strings.TrimSuffix(s, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webqq: %s %q: want an http(s) base URL", what, s)
		}
		return u, nil
	}
	if endpoint != "" {
		u, err := parse("endpoint", endpoint)
		if err != nil {
			return m, err
		}
		m.endpoint = u
	}
	for h, base := range hosts {
		u, err := parse("host override for "+h, base)
		if err != nil {
			return m, err
		}
		if m.hosts == nil {
			m.hosts = map[string]*url.URL{}
		}
		m.hosts[strings.ToLower(h)] = u
	}
	return m, nil
}

// base returns the base URL for a real host and whether it is overridden.
func (m hostMap) base(host string) (string, bool) {
	if u, ok := m.hosts[host]; ok {
		return u.String(), true
	}
	if m.endpoint != nil {
		return m.endpoint.String(), true
	}
	return "https://" + host, false
}

// rewrite points an absolute URL on a real *.qq.com host at its override.
func (m hostMap) rewrite(u *url.URL) *url.URL {
	host := strings.ToLower(u.Hostname())
	if host != domainQQ && !hasDotSuffix(host, domainQQ) {
		return u
	}
	base, ok := m.base(host)
	if !ok {
		return u
	}
	b, _ := url.Parse(base) // validated in newHostMap
	out := *u
	out.Scheme, out.Host = b.Scheme, b.Host
	out.Path = b.Path + u.Path
	if u.RawPath != "" {
		out.RawPath = b.Path + u.RawPath
	}
	return &out
}

// isOverride reports whether hostport is the host of a configured override.
func (m hostMap) isOverride(hostport string) bool {
	if m.endpoint != nil && strings.EqualFold(m.endpoint.Host, hostport) {
		return true
	}
	for _, u := range m.hosts {
		if strings.EqualFold(u.Host, hostport) {
			return true
		}
	}
	return false
}

var checkSigURL = regexp.MustCompile(checkSigRe)

// checkSig validates a check_sig URL from ptlogin (spec §15.1c): a *.qq.com
// host, or one of the configured override hosts, with path /check_sig.
func (m hostMap) checkSig(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, false
	}
	if checkSigURL.MatchString(s) {
		return m.rewrite(u), true
	}
	if (u.Scheme == "http" || u.Scheme == "https") && m.isOverride(u.Host) &&
		strings.HasSuffix(u.Path, "/check_sig") {
		return u, true
	}
	return nil, false
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	API    string
	Status int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("webqq: %s: http status %d", e.API, e.Status) }

// do runs a call, with its attempts, following redirects and keeping the
// cookies set along the way. Success means a 2xx status after redirects.
func (c *Client) do(ctx context.Context, cl call) (*response, error) {
	attempts := max(cl.attempts, 1)
	var err error
	for i := range attempts {
		var resp *response
		resp, err = c.doOnce(ctx, cl)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if i+1 < attempts {
			c.log.WarnContext(ctx, "request failed, retrying", "api", cl.api, "attempt", i+1, "err", err)
		}
	}
	return nil, err
}

func (c *Client) doOnce(ctx context.Context, cl call) (*response, error) {
	timeout := cl.timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u, realHost, err := c.callURL(cl)
	if err != nil {
		return nil, err
	}
	method := cl.method
	if method == "" {
		method = http.MethodGet
	}
	var body []byte
	if cl.form != nil {
		body = []byte(cl.form.Encode())
	}
	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, method, u, body, cl.referer)
		if err != nil {
			return nil, fmt.Errorf("webqq: %s: %w", cl.api, err)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("webqq: %s: %w", cl.api, redactURLError(err))
		}
		data, err := readBody(resp)
		c.storeCookies(u, realHost, resp.Cookies())
		if err != nil {
			return nil, fmt.Errorf("webqq: %s: read body: %w", cl.api, err)
		}
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" {
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return &response{status: resp.StatusCode, body: data, url: u},
					&HTTPError{API: cl.api, Status: resp.StatusCode}
			}
			return &response{status: resp.StatusCode, body: data, url: u}, nil
		}
		if hop == maxRedirects {
			return nil, fmt.Errorf("webqq: %s: more than %d redirects", cl.api, maxRedirects)
		}
		next, err := u.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("webqq: %s: bad redirect %q: %w", cl.api, loc, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
			method, body = http.MethodGet, nil
		}
		u = c.hosts.rewrite(next)
		realHost = ""
		if h := strings.ToLower(next.Hostname()); hasDotSuffix(h, domainQQ) {
			realHost = h
		}
	}
}

func (c *Client) callURL(cl call) (*url.URL, string, error) {
	if cl.rawURL != "" {
		u, err := url.Parse(cl.rawURL)
		if err != nil {
			return nil, "", fmt.Errorf("webqq: %s: bad url: %w", cl.api, err)
		}
		real := ""
		if h := strings.ToLower(u.Hostname()); hasDotSuffix(h, domainQQ) {
			real = h
		}
		return c.hosts.rewrite(u), real, nil
	}
	base, _ := c.hosts.base(cl.host)
	s := base + cl.path
	if cl.query != "" {
		s += "?" + cl.query
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, "", fmt.Errorf("webqq: %s: bad url: %w", cl.api, err)
	}
	return u, cl.host, nil
}

func (c *Client) newRequest(ctx context.Context, method string, u *url.URL, body []byte, referer string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if h := cookieHeader(c.jar.Cookies(u)); h != "" {
		req.Header.Set("Cookie", h)
	}
	return req, nil
}

// cookieHeader is the Cookie header of cks, built once (AddCookie per
// cookie rebuilds the header each time); a cookie no browser could send
// (a bad name or value) is left out.
func cookieHeader(cks []*http.Cookie) string {
	var b strings.Builder
	for _, ck := range cks {
		if ck.Valid() != nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(ck.Name)
		b.WriteByte('=')
		if strings.ContainsAny(ck.Value, " ,") { // quoted, as AddCookie does
			b.WriteString(`"` + ck.Value + `"`)
		} else {
			b.WriteString(ck.Value)
		}
	}
	return b.String()
}

// redactURLError drops the query string from the URL a transport error
// names: queries carry psessionid, vfwebqq, ptwebqq and the encrypted
// password, which must not reach the logs.
func redactURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

// redactURL keeps the scheme, host and path of a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bad url)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return data, nil
}

// storeCookies keeps the cookies a response from u set. A cookie whose
// Domain names the real domain an override host stands in for (Domain=qq.com
// from a simulator on 127.0.0.1) is stored where the overrides will send it.
func (c *Client) storeCookies(u *url.URL, realHost string, cookies []*http.Cookie) {
	if len(cookies) == 0 {
		return
	}
	var direct []*http.Cookie
	for _, ck := range cookies {
		d := strings.ToLower(strings.TrimPrefix(ck.Domain, "."))
		if d != "" && realHost != "" && !strings.EqualFold(u.Hostname(), d) &&
			(realHost == d || hasDotSuffix(realHost, d)) {
			if _, overridden := c.hosts.base(realHost); overridden {
				c.setDomainCookie(d, ck)
				continue
			}
		}
		direct = append(direct, ck)
	}
	c.jar.SetCookies(u, direct)
}

// setDomainCookie stores a cookie meant for a real domain (ptwebqq on
// qq.com, p_skey on w.qq.com): on the domain itself when some real host under
// it is not overridden, and as a host cookie of every override base URL that
// stands in for a host under it.
func (c *Client) setDomainCookie(domain string, ck *http.Cookie) {
	cp := *ck
	if cp.Path == "" {
		cp.Path = "/"
	}
	seen := map[string]bool{}
	realNeeded := ""
	for _, h := range realHosts {
		if h != domain && !hasDotSuffix(h, domain) {
			continue
		}
		base, overridden := c.hosts.base(h)
		if !overridden {
			realNeeded = h
			continue
		}
		if seen[base] {
			continue
		}
		seen[base] = true
		u, _ := url.Parse(base + "/")
		hostCookie := cp
		hostCookie.Domain = ""
		c.jar.SetCookies(u, []*http.Cookie{&hostCookie})
	}
	if realNeeded != "" || len(seen) == 0 {
		host := realNeeded
		if host == "" {
			host = domain
		}
		dc := cp
		dc.Domain = domain
		c.jar.SetCookies(&url.URL{Scheme: "https", Host: host, Path: "/"}, []*http.Cookie{&dc})
	}
}

// getJSON runs a call and decodes its JSON answer into v.
func (c *Client) getJSON(ctx context.Context, cl call, v any) error {
	resp, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return decodeJSON(cl.api, resp.body, v)
}

// decodeJSON decodes a JSON answer. An HTML page is quoted in the error
// (it says what went wrong); broken JSON is not, as it may hold tokens.
func decodeJSON(api string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '<' {
			return fmt.Errorf("webqq: %s: answer is an html page (%q): %w", api, abbrev(t), err)
		}
		return fmt.Errorf("webqq: %s: decode: %w", api, err)
	}
	return nil
}
