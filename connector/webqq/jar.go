package webqq

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// jar is an http.CookieJar (RFC 6265 domain and path matching, modelled on
// net/http/cookiejar) that can also list, export and import its cookies,
// which the stdlib jar cannot. Lookups by name return the oldest live cookie
// of that name, as the original's search_cookie did (spec §12.4).
type jar struct {
	now func() time.Time

	mu      sync.Mutex // guards entries, seq and onChange
	entries map[string]*entry
	seq     uint64
	// onChange is called, outside mu, with the exported jar after every
	// change made by SetCookies.
	onChange func([]byte)
}

var _ http.CookieJar = (*jar)(nil)

// entry is one stored cookie; seq orders entries by creation.
type entry struct {
	Name     string
	Value    string
	Domain   string
	Path     string
	Expires  time.Time // zero: a session cookie
	Secure   bool
	HTTPOnly bool
	HostOnly bool
	seq      uint64
}

func (e *entry) id() string { return e.Domain + ";" + e.Path + ";" + e.Name }

func (e *entry) expired(now time.Time) bool {
	return !e.Expires.IsZero() && !e.Expires.After(now)
}

// jarCookie is the export format: a JSON array of these, oldest first
// (spec §22). expires is Unix seconds, 0 for a session cookie.
type jarCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Domain   string `json:"domain"`
	Path     string `json:"path"`
	Expires  int64  `json:"expires"`
	Secure   bool   `json:"secure"`
	HTTPOnly bool   `json:"httponly"`
	HostOnly bool   `json:"host_only"`
}

func newJar() *jar {
	return &jar{now: time.Now, entries: map[string]*entry{}}
}

// SetCookies stores the cookies a response from u set.
func (j *jar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	host, err := canonicalHost(u.Host)
	if err != nil || len(cookies) == 0 {
		return
	}
	now := j.now()
	j.mu.Lock()
	changed := false
	for _, c := range cookies {
		e, remove, ok := newEntry(c, host, u.Path, now)
		if !ok {
			continue
		}
		old := j.entries[e.id()]
		if remove {
			if old != nil {
				delete(j.entries, e.id())
				changed = true
			}
			continue
		}
		if old != nil {
			e.seq = old.seq // a replaced cookie keeps its place, as in cookiejar
			if *old == *e {
				continue
			}
		} else {
			j.seq++
			e.seq = j.seq
		}
		j.entries[e.id()] = e
		changed = true
	}
	notify := j.onChange
	var data []byte
	if changed && notify != nil {
		data = j.exportLocked(now)
	}
	j.mu.Unlock()
	if data != nil {
		notify(data)
	}
}

// Cookies returns the cookies to send to u, longest path first.
func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	host, err := canonicalHost(u.Host)
	if err != nil {
		return nil
	}
	https := u.Scheme == "https"
	path := u.Path
	if path == "" {
		path = "/"
	}
	now := j.now()
	j.mu.Lock()
	var sel []*entry
	for id, e := range j.entries {
		if e.expired(now) {
			delete(j.entries, id)
			continue
		}
		if e.Secure && !https || !e.domainMatch(host) || !pathMatch(e.Path, path) {
			continue
		}
		sel = append(sel, e)
	}
	slices.SortFunc(sel, func(a, b *entry) int {
		if len(a.Path) != len(b.Path) {
			return len(b.Path) - len(a.Path)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([]*http.Cookie, len(sel))
	for i, e := range sel {
		out[i] = &http.Cookie{Name: e.Name, Value: e.Value}
	}
	j.mu.Unlock()
	return out
}

// Get returns the value of the oldest live cookie named name, whatever its
// domain (the original's search_cookie).
func (j *jar) Get(name string) (string, bool) {
	now := j.now()
	j.mu.Lock()
	defer j.mu.Unlock()
	var best *entry
	for _, e := range j.entries {
		if e.Name == name && !e.expired(now) && (best == nil || e.seq < best.seq) {
			best = e
		}
	}
	if best == nil {
		return "", false
	}
	return best.Value, true
}

// MarshalJSON exports the live cookies, oldest first.
func (j *jar) MarshalJSON() ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.exportLocked(j.now()), nil
}

func (j *jar) exportLocked(now time.Time) []byte {
	list := make([]*entry, 0, len(j.entries))
	for _, e := range j.entries {
		if !e.expired(now) {
			list = append(list, e)
		}
	}
	slices.SortFunc(list, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]jarCookie, len(list))
	for i, e := range list {
		out[i] = jarCookie{Name: e.Name, Value: e.Value, Domain: e.Domain, Path: e.Path,
			Secure: e.Secure, HTTPOnly: e.HTTPOnly, HostOnly: e.HostOnly}
		if !e.Expires.IsZero() {
			out[i].Expires = e.Expires.Unix()
		}
	}
	b, err := json.Marshal(out)
	if err != nil { // cannot happen: strings and scalars only
		return []byte("[]")
	}
	return b
}

// UnmarshalJSON replaces the jar's content with an export. Expired and
// malformed cookies are skipped; the jar is unchanged on a decoding error.
func (j *jar) UnmarshalJSON(b []byte) error {
	var list []jarCookie
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("webqq: import cookies: %w", err)
	}
	now := j.now()
	entries := make(map[string]*entry, len(list))
	var seq uint64
	for _, c := range list {
		domain := strings.ToLower(strings.TrimPrefix(c.Domain, "."))
		if c.Name == "" || domain == "" {
			continue
		}
		e := &entry{Name: c.Name, Value: c.Value, Domain: domain, Path: c.Path,
			Secure: c.Secure, HTTPOnly: c.HTTPOnly, HostOnly: c.HostOnly}
		if e.Path == "" || e.Path[0] != '/' {
			e.Path = "/"
		}
		if c.Expires != 0 {
			e.Expires = time.Unix(c.Expires, 0)
		}
		if e.expired(now) {
			continue
		}
		seq++
		e.seq = seq
		entries[e.id()] = e
	}
	j.mu.Lock()
	j.entries, j.seq = entries, seq
	j.mu.Unlock()
	return nil
}

func (e *entry) domainMatch(host string) bool {
	if e.Domain == host {
		return true
	}
	return !e.HostOnly && hasDotSuffix(host, e.Domain)
}

// newEntry builds the entry of cookie c set by host with request path
// reqPath. remove reports a cookie that deletes its predecessor; ok is false
// for a cookie the jar must ignore (foreign domain).
func newEntry(c *http.Cookie, host, reqPath string, now time.Time) (e *entry, remove, ok bool) {
	if c.Name == "" {
		return nil, false, false
	}
	e = &entry{Name: c.Name, Value: c.Value, Secure: c.Secure, HTTPOnly: c.HttpOnly}
	domain := strings.ToLower(strings.TrimPrefix(c.Domain, "."))
	switch {
	case domain == "" || domain == host:
		e.Domain, e.HostOnly = host, domain == ""
	case net.ParseIP(host) != nil:
		return nil, false, false // an IP host takes no domain cookies
	case !strings.Contains(domain, "."), !hasDotSuffix(host, domain):
		return nil, false, false // a single label ("com") or a foreign domain
	default:
		e.Domain = domain
	}
	e.Path = c.Path
	if e.Path == "" || e.Path[0] != '/' {
		e.Path = defaultPath(reqPath)
	}
	switch {
	case c.MaxAge < 0:
		return e, true, true
	case c.MaxAge > 0:
		e.Expires = time.Unix(now.Unix()+int64(c.MaxAge), 0)
	case !c.Expires.IsZero():
		if !c.Expires.After(now) {
			return e, true, true
		}
		e.Expires = time.Unix(c.Expires.Unix(), 0) // the export's precision
	}
	return e, false, true
}

func canonicalHost(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("webqq: empty host")
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(h, "]"), "["), ".")
	return strings.ToLower(h), nil
}

func hasDotSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix)-1] == '.' && s[len(s)-len(suffix):] == suffix
}

// defaultPath is RFC 6265 §5.1.4's default-path of a request path.
func defaultPath(p string) string {
	if p == "" || p[0] != '/' {
		return "/"
	}
	i := strings.LastIndex(p, "/")
	if i == 0 {
		return "/"
	}
	return p[:i]
}

// pathMatch is RFC 6265 §5.1.4's path-match.
func pathMatch(cookiePath, reqPath string) bool {
	if cookiePath == reqPath {
		return true
	}
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return cookiePath[len(cookiePath)-1] == '/' || reqPath[len(cookiePath)] == '/'
}
