package webqq

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
)

// NoDelay, as a duration option, turns a wait off entirely (a zero value
// means "the default").
const NoDelay time.Duration = -1

// Defaults of the Options, the original's values.
const (
	DefaultSendInterval   = 3 * time.Second
	DefaultSendAttempts   = 3
	DefaultQRExpiryLimit  = 10
	DefaultQRPollInterval = 3 * time.Second
	DefaultPollPause      = 1 * time.Second
)

// Options configure a Client. The zero value talks to Tencent's real hosts
// over HTTPS with the original's timings.
type Options struct {
	// Endpoint is one base URL (e.g. a sandbox's URL) that serves every
	// host of the protocol; paths are the real ones.
	Endpoint string
	// Hosts maps real host names (s.web2.qq.com, …) to base URLs that serve
	// them; it takes precedence over Endpoint. Without either, the client
	// uses https://<real host>.
	Hosts map[string]string
	// HTTPClient sends the requests; nil means a client with a 10 s connect
	// timeout, the proxy from the environment and the system CA pool
	// (SSL_CERT_FILE is honoured). Its Jar and CheckRedirect are not used:
	// the Client keeps its own jar and follows redirects itself.
	HTTPClient *http.Client

	// Account is the QQ number. When numeric, a QR scan by another account
	// fails the login, and the ext login uses it.
	Account string
	// Password enables the ext features (real QQ numbers, kick, mute)
	// through a password login to qun.qq.com. A value of 32 hex digits is
	// taken to be the MD5 of the password, as the original's pwd option.
	Password openqq.Secret
	// PasswordKey is the RSA key the password is encrypted with; nil means
	// ptlogin's (PtloginKey). A simulator can publish its own.
	PasswordKey *rsa.PublicKey

	// SendInterval spaces consecutive sends (one global FIFO queue);
	// 0 means DefaultSendInterval, NoDelay (any negative value) none.
	SendInterval time.Duration
	// SendAttempts is the number of dispatches a message gets; 0 means
	// DefaultSendAttempts. A negative value means none: every send fails
	// with -5 "TTL失效", as the original's msg_ttl=0.
	SendAttempts int
	// RealAngleBrackets sends < and > as they are; by default they become
	// the full-width ＜ ＞ (the original's send_real_comp_sign=0).
	RealAngleBrackets bool

	// QRExpiryLimit is how many times the QR code may expire before the
	// login fails with openqq.ErrQRCodeExpired; 0 means DefaultQRExpiryLimit.
	QRExpiryLimit int
	// QRPollInterval is the wait between ptqrlogin checks; 0 means
	// DefaultQRPollInterval, NoDelay none.
	QRPollInterval time.Duration
	// PollPause is the pause between the end of one poll2 and the start of
	// the next; 0 means DefaultPollPause, NoDelay none.
	PollPause time.Duration

	// Logger receives the client's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Client is one account's SmartQQ session. Login and Poll are meant for one
// goroutine; Send, Kick, Mute, Contacts and the cookie methods may be called
// concurrently with them.
type Client struct {
	log          *slog.Logger
	hc           *http.Client
	hosts        hostMap
	hostsErr     error // a bad Endpoint or Hosts value, reported by Login
	jar          *jar
	ids          *msgIDs
	pwMD5        string // "" without a password
	account      string
	pwKey        *rsa.PublicKey
	sendInterval time.Duration
	sendAttempts int
	realBrackets bool
	qrLimit      int
	qrInterval   time.Duration
	pollPause    time.Duration

	pollSem chan struct{} // one poll2 in flight
	queue   sendQueue

	mu   sync.Mutex // guards obs and sess
	obs  openqq.LoginObserver
	sess session
}

// session is what one login knows; Login resets it.
type session struct {
	loggedIn    bool
	uid         int64 // own QQ number
	psessionid  string
	vfwebqq     string
	ptwebqq     string
	ptwebqqSet  bool // ptwebqq came from somewhere (null on the wire otherwise)
	ext         bool // the qun.qq.com authorisation succeeded
	bkn         int64
	contacts    *openqq.Contacts
	sessSigs    map[sigKey]sessSig
	sendFails   int   // consecutive -3 send results
	pollUnknown int   // consecutive unknown poll2 retcodes
	relogin     error // set: the next Poll reports it
	lastPoll    time.Time
}

// New returns a Client. Invalid Endpoint or Hosts values are reported by
// the first Login.
func New(o Options) *Client {
	c := &Client{
		log:          o.Logger,
		hc:           o.HTTPClient,
		jar:          newJar(),
		ids:          newMsgIDs(time.Now()),
		account:      o.Account,
		pwKey:        o.PasswordKey,
		sendInterval: durationOpt(o.SendInterval, DefaultSendInterval),
		sendAttempts: o.SendAttempts,
		realBrackets: o.RealAngleBrackets,
		qrLimit:      o.QRExpiryLimit,
		qrInterval:   durationOpt(o.QRPollInterval, DefaultQRPollInterval),
		pollPause:    durationOpt(o.PollPause, DefaultPollPause),
		pollSem:      make(chan struct{}, 1),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With(openqq.LogKeyComponent, "webqq")
	if o.Account != "" {
		c.log = c.log.With(openqq.LogKeyAccount, o.Account)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	hc := *c.hc // our own copy: we keep the cookies and follow redirects
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	c.hosts, c.hostsErr = newHostMap(o.Endpoint, o.Hosts)
	if o.Password != "" {
		c.pwMD5 = passwordMD5(string(o.Password))
	}
	if c.pwKey == nil {
		c.pwKey = PtloginKey()
	}
	switch {
	case c.sendAttempts == 0:
		c.sendAttempts = DefaultSendAttempts
	case c.sendAttempts < 0:
		c.sendAttempts = 0
	}
	if c.qrLimit <= 0 {
		c.qrLimit = DefaultQRExpiryLimit
	}
	c.jar.onChange = c.cookiesChanged
	return c
}

func durationOpt(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.IdleConnTimeout = 120 * time.Second
	// Commands run concurrently (the connector's MaxInflight, 16 by default)
	// beside the held poll: with the default of 2 idle connections per host
	// the rest would be closed after each call and dialled again.
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: tr}
}

// ImportCookies loads a jar exported by ExportCookies, replacing the
// current cookies, so that the next Login can reuse the session.
func (c *Client) ImportCookies(data []byte) error {
	return c.jar.UnmarshalJSON(data)
}

// ExportCookies returns the cookie jar as a JSON array of
// {name, value, domain, path, expires, secure, httponly, host_only}
// (expires in epoch seconds, 0 for a session cookie).
func (c *Client) ExportCookies() ([]byte, error) {
	return c.jar.MarshalJSON()
}

func (c *Client) observer() openqq.LoginObserver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.obs
}

func (c *Client) cookiesChanged(data []byte) {
	if obs := c.observer(); obs != nil {
		obs.CookiesChanged(data)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// snapshot returns a copy of the session fields a request needs.
func (c *Client) snapshot() session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}
