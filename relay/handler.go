package relay

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
)

// Defaults of the zero Options.
const (
	DefaultAccount           = "default"
	DefaultCommandTimeout    = 30 * time.Second
	DefaultCheckEventTimeout = 30 * time.Second
	DefaultHeartbeatTimeout  = 15 * time.Second
	DefaultMaxBodyBytes      = 1 << 20
)

// CursorHeader carries the next cursor of a check_event cursor read, so the
// body stays the original's bare array.
const CursorHeader = "X-Openqq-Cursor"

// Options configure a Handler. Only Store is required.
type Options struct {
	// Store is the Redis store, a *store.DB (or a wrapper in tests).
	Store Store
	// Account is served when a request has no client parameter.
	Account string
	// Tokens guard every route but OPTIONS and /healthz; none means open.
	Tokens []Token
	// CommandTimeout bounds a write command from queueing to its answer.
	CommandTimeout time.Duration
	// CheckEventTimeout is how long check_event holds an empty poll.
	CheckEventTimeout time.Duration
	// HeartbeatTimeout is the age after which a connector's heartbeat
	// counts as dead, so writes fail at once instead of timing out.
	HeartbeatTimeout time.Duration
	// MaxBodyBytes limits request bodies (413 beyond it).
	MaxBodyBytes int64
	// ConfirmScanURL, when set, adds a "confirm scan" button to the login
	// page that POSTs to it (the sandbox's scan endpoint).
	ConfirmScanURL string
	// LogLevel is reported by get_client_info as the original's log_level.
	LogLevel string
	// Registry receives the relay's metrics and is served on /metrics;
	// nil means a private registry.
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Handler serves the Openqq HTTP API and the relay's own pages.
type Handler struct {
	opts    Options
	store   Store
	keys    keyring
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	console *console
	now     func() time.Time

	snapshots snapshotCache // decoded contacts by account, kept until the store's version moves
}

// New returns a Handler for the options; it panics without a Store, which
// is a programming error.
func New(o Options) *Handler {
	if o.Store == nil {
		panic("relay: New without a Store")
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.CheckEventTimeout <= 0 {
		o.CheckEventTimeout = DefaultCheckEventTimeout
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &Handler{
		opts:  o,
		store: o.Store,
		keys:  newKeyring(o.Tokens),
		log:   o.Logger.With(openqq.LogKeyComponent, "relay"),
		mux:   http.NewServeMux(),
		now:   time.Now, // the clock of answers (runtime, alive, callbacks); tests fix it
	}
	h.metrics = newMetrics(o.Registry)
	h.console = newConsole(o.ConfirmScanURL, h.log)
	h.routes()
	return h
}

// route is one endpoint and what it needs.
type route struct {
	name    string
	path    string
	methods []string
	write   bool // needs a read-write token
	effect  bool // has side effects: HEAD answers without running it
	open    bool // no token needed
	serve   http.HandlerFunc
}

var (
	getOnly    = []string{http.MethodGet}
	getAndPost = []string{http.MethodGet, http.MethodPost}
)

// routes registers spec §6.3's table (same methods; first match there is
// exact paths here), then the relay's additions.
func (h *Handler) routes() {
	table := []route{
		{name: "get_user_info", methods: getOnly, serve: h.getUserInfo},
		{name: "get_friend_info", methods: getOnly, serve: h.getFriendInfo},
		{name: "get_group_info", methods: getOnly, serve: h.getGroupInfo},
		{name: "get_group_basic_info", methods: getOnly, serve: h.getGroupBasicInfo},
		{name: "get_discuss_info", methods: getOnly, serve: h.getDiscussInfo},
		{name: openqq.APISendFriendMessage, methods: getAndPost, write: true, serve: h.sendFriendMessage},
		{name: openqq.APIRelogin, methods: getOnly, write: true, serve: h.relogin},
		{name: openqq.APISendGroupMessage, methods: getAndPost, write: true, serve: h.sendGroupMessage},
		{name: openqq.APISendDiscussMessage, methods: getAndPost, write: true, serve: h.sendDiscussMessage},
		{name: openqq.APISendSessMessage, methods: getAndPost, write: true, serve: h.sendSessMessage},
		{name: "search_friend", methods: getAndPost, serve: h.searchFriend},
		{name: "search_group", methods: getAndPost, serve: h.searchGroup},
		{name: openqq.APIKickGroupMember, methods: getAndPost, write: true, serve: h.kickGroupMember},
		{name: openqq.APIShutupGroupMember, methods: getAndPost, write: true, serve: h.shutupGroupMember},
		{name: "check_event", methods: getAndPost, effect: true, serve: h.checkEvent},
		{name: "get_client_info", methods: getAndPost, serve: h.getClientInfo},
		{name: openqq.APIStopClient, methods: getAndPost, write: true, serve: h.stopClient},
		// Controller API (spec §10.3), for one relay serving many accounts.
		{name: "get_qrcode", methods: getOnly, serve: h.getQRCode},
		{name: "check_client", methods: getOnly, serve: h.checkClient},
		// The relay's own pages.
		{name: "console", path: "/{$}", methods: getOnly, serve: h.console.serve},
		{name: "healthz", path: "/healthz", methods: getOnly, open: true, serve: h.healthz},
		{name: "metrics", path: "/metrics", methods: getOnly, serve: h.metrics.serve},
	}
	for _, rt := range table {
		if rt.path == "" {
			rt.path = "/openqq/" + rt.name
		}
		rt.effect = rt.effect || rt.write
		for _, m := range rt.methods {
			h.mux.Handle(m+" "+rt.path, h.wrap(rt))
		}
	}
	h.mux.HandleFunc("OPTIONS /", h.preflight)
	h.mux.HandleFunc("/", h.notFound)
}

// ServeHTTP applies what every response shares (CORS, the body limit,
// panic recovery, metrics), then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &reqInfo{route: "unknown", account: h.opts.Account}
	r = withInfo(r, info)
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("Access-Control-Allow-Origin", "*")
	sw.Header().Set("Access-Control-Expose-Headers", CursorHeader)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, h.opts.MaxBodyBytes)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "handler panic",
				logAttrs(r, openqq.LogKeyErr, fmt.Errorf("panic: %v", v), "stack", string(debug.Stack()))...)
			if !sw.wrote {
				h.writeError(sw, r, openqq.ErrInternal)
			}
		}
		d := time.Since(start)
		h.metrics.observe(info, sw.status, d)
		h.log.DebugContext(r.Context(), "request",
			logAttrs(r, "method", r.Method, "status", sw.status, "code", info.code, "duration", d)...)
	}()
	h.mux.ServeHTTP(sw, r)
}

// wrap runs the steps every API route shares: read the parameters, check
// the JSONP callback and the token, pick the account, then serve.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.route = rt.name
		p, err := h.readParams(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		r = withParams(r, p)
		if p["datatype"] == "jsonp" && p["callback"] != "" && !validCallback(p["callback"]) {
			h.writeError(w, r, errBadCallback)
			return
		}
		if !rt.open {
			if err := h.authorize(r, rt.write); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		if err := h.resolveAccount(r); err != nil {
			h.writeError(w, r, err)
			return
		}
		if r.Method == http.MethodHead && rt.effect {
			// [GO] A HEAD never sends, kicks or consumes events: the
			// original ran the GET action and dropped the answer.
			h.writeBody(w, r, http.StatusOK, nil)
			return
		}
		if rt.write {
			if err := h.prefetch(r); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		rt.serve(w, r)
	})
}

// prefetch reads what a write checks before it is queued, the connector's
// state and the contacts version, in one round trip instead of one each.
func (h *Handler) prefetch(r *http.Request) error {
	st, v, err := h.store.StateAndContactsVersion(r.Context(), accountOf(r))
	if err != nil {
		return fmt.Errorf("relay: state: %w", err)
	}
	infoOf(r).pre = &prefetched{state: st, contacts: v}
	return nil
}

// readParams reads the query and the body (whatever the method, as
// Mojolicious does) into Params.
func (h *Handler) readParams(r *http.Request) (Params, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			if isTooLarge(err) {
				return nil, err
			}
			return nil, badRequest("reading body: %v", err)
		}
		body = b
	}
	return ParseParams(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
}

// accountPattern keeps account names safe inside Redis keys and logs.
var accountPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ValidAccount reports whether s may name an account: up to 64 letters,
// digits and "_.@-", starting with a letter or digit.
func ValidAccount(s string) bool { return accountPattern.MatchString(s) }

// resolveAccount picks the account from the client parameter (the
// Controller's way, spec §10.4), else the default one. A client other than
// the default must be known to the store.
func (h *Handler) resolveAccount(r *http.Request) error {
	acct := paramsOf(r)["client"]
	if acct == "" || acct == h.opts.Account {
		infoOf(r).account = h.opts.Account
		return nil
	}
	if !ValidAccount(acct) {
		return errBadClient
	}
	known, err := h.store.Accounts(r.Context())
	if err != nil {
		return fmt.Errorf("relay: accounts: %w", err)
	}
	if !slices.Contains(known, acct) {
		return errClientNotExists
	}
	infoOf(r).account = acct
	return nil
}

// preflight answers CORS preflights on any path, without a token (§6.2).
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	infoOf(r).route = "options"
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", "OPTIONS, HEAD, GET, POST")
	hdr.Set("Access-Control-Allow-Headers", "X-Requested-With, X-Auth-Token, Content-Type, Content-Length, Authorization")
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// statusWriter remembers the status for metrics and whether anything was
// written, so recovery does not write twice.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
