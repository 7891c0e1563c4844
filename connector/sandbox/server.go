package sandbox

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Server. The zero value works: a small world from seed 1.
type Options struct {
	// Seed makes the world and every token deterministic; 0 means 1.
	Seed int64

	// World sizes; zero means the default (12 friends, 4 groups of 20
	// members, 2 discussions of 5), negative means none. Member counts
	// include the account itself, which is in every group and discussion.
	Friends, Groups, MembersPerGroup, Discusses, DiscussMembers int

	// SelfUID is the account's QQ number (default: drawn from the seed);
	// SelfNick its nick (default: drawn).
	SelfUID  int64
	SelfNick string

	// Password is what the ext password login (spec §15.6, §17.1) accepts;
	// empty means that login always fails with ptuiCB code 3.
	Password string
	// RSAKey is the key that seals the password (the outer layer of p); nil
	// means the built-in sandbox key (see Server.RSAPublicKey).
	RSAKey *rsa.PrivateKey
	// AcceptSealedPasswords lets the ext login accept a p sealed with a key
	// the sandbox does not hold (Tencent's, which clients carry) after
	// checking its shape only: such a p cannot be opened, so any password
	// passes. Off by default: such a p is refused like a wrong password.
	AcceptSealedPasswords bool

	// AutoScanAfter and AutoConfirmAfter make the QR code scan and confirm
	// by themselves after that many ptqrlogin polls answered 66 and 67;
	// 0 means wait for ScanQR / ConfirmQR.
	AutoScanAfter, AutoConfirmAfter int
	// QRLifetime is how many ptqrlogin polls a QR code answers before it
	// expires with 65; 0 means never.
	QRLifetime int

	// PollHold is how long an idle poll2 is held before it answers 102;
	// 0 means 30 s.
	PollHold time.Duration

	// Logger receives debug logs of every request; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a SmartQQ service on one listener: every host of the protocol
// (w.qq.com, ptlogin2, s.web2, d1.web2, qun.qq.com, qinfo.clt.qq.com …) is
// served by path, plus the control API under /sandbox/. Its methods are safe
// for concurrent use.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port" with no trailing slash,
	// once started.
	URL string

	opts    Options
	log     *slog.Logger
	handler http.Handler
	rsaKey  *rsa.PrivateKey

	// lifecycle; set by Start / StartTLS, read by Close and Client.
	listener  net.Listener
	srv       *http.Server
	transport *http.Transport
	closing   chan struct{} // closed by Close: ends held polls
	closeOnce sync.Once
	serving   sync.WaitGroup // the Serve goroutine
	connMu    sync.Mutex     // guards conns and accepted
	conns     map[net.Conn]http.ConnState
	accepted  int // connections ever accepted

	mu     sync.Mutex // guards everything below
	m      *model
	acct   account
	sess   *session // the SmartQQ channel session; nil before login2
	events []event  // queued for the next poll2
	script []pollScript
	failRC int // FailSend: retcode and how many sends left
	failN  int
	sent   []SentMessage
	kicks  []Kick
	mutes  []Mute
	wake   chan struct{} // closed and replaced when a held poll2 should look again
	rng    *rand.Rand    // tokens
	msgSeq int64
	held   int // poll2 requests waiting right now
}

// NewServer starts a sandbox on 127.0.0.1 with a random port.
func NewServer(o Options) *Server {
	s := NewUnstartedServer(o)
	s.Start()
	return s
}

// NewUnstartedServer builds a sandbox without listening, so that the caller
// can Start, StartTLS or mount Handler elsewhere.
func NewUnstartedServer(o Options) *Server {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.PollHold <= 0 {
		o.PollHold = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{
		opts:    o,
		log:     o.Logger.With("component", "sandbox"),
		rsaKey:  o.RSAKey,
		closing: make(chan struct{}),
	}
	if s.rsaKey == nil {
		s.rsaKey = builtinKey()
	}
	s.resetLocked()
	s.handler = s.routes()
	return s
}

// resetLocked rebuilds the world and forgets every login, queue and record.
func (s *Server) resetLocked() {
	s.m = newModel(s.opts)
	s.acct = newAccount()
	s.sess = nil
	s.events, s.script = nil, nil
	s.failRC, s.failN = 0, 0
	s.sent, s.kicks, s.mutes = nil, nil, nil
	s.rng = rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x70CE))
	s.msgSeq = int64(10000 + s.opts.Seed%10000)
	s.notifyLocked()
}

// notifyLocked wakes every held poll2 so it looks at the state again.
func (s *Server) notifyLocked() {
	if s.wake != nil {
		close(s.wake)
	}
	s.wake = make(chan struct{})
}

// Handler serves the whole protocol and the control API, for mounting in
// another server (openqq up, openqq sandbox).
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on 127.0.0.1 with a random port and serves plain HTTP.
func (s *Server) Start() { s.start(false) }

// StartTLS serves HTTPS with a fresh self-signed certificate, valid for
// 127.0.0.1, localhost and the qq.com hosts; Client trusts it.
func (s *Server) StartTLS() { s.start(true) }

func (s *Server) start(useTLS bool) {
	if s.listener != nil {
		panic("sandbox: server already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("sandbox: listen: " + err.Error())
	}
	s.listener = ln
	s.conns = map[net.Conn]http.ConnState{}
	s.srv = &http.Server{
		Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ConnState: s.trackConn,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: false}
	scheme := "http"
	if useTLS {
		cert, pool, err := selfSignedCert()
		if err != nil {
			panic("sandbox: certificate: " + err.Error())
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.transport.TLSClientConfig = &tls.Config{RootCAs: pool}
		ln = tls.NewListener(ln, s.srv.TLSConfig)
		scheme = "https"
	}
	s.URL = scheme + "://" + s.listener.Addr().String()
	s.serving.Go(func() { _ = s.srv.Serve(ln) }) // ErrServerClosed after Close
}

// Client returns an http.Client whose transport reaches this server and
// trusts its certificate. It has no cookie jar; each call returns a new
// Client, sharing one transport, so that callers may set their own Jar.
func (s *Server) Client() *http.Client {
	if s.transport == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: s.transport}
}

// Close ends held long polls, stops listening and waits for every handler
// to return. It is safe to call more than once, also on a server that was
// never started.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.srv == nil {
			return
		}
		// As httptest does: stop accepting, close the connections that
		// carry no request (Shutdown would wait 5 s for a dialled, unused
		// one), then wait for the handlers in flight; held polls return at
		// once because closing is closed.
		_ = s.listener.Close()
		s.transport.CloseIdleConnections()
		s.connMu.Lock()
		for c, st := range s.conns {
			if st == http.StateNew || st == http.StateIdle {
				_ = c.Close()
			}
		}
		s.connMu.Unlock()
		_ = s.srv.Shutdown(context.Background())
		s.serving.Wait()
		s.transport.CloseIdleConnections()
	})
}

// trackConn follows connection states so that Close can end idle ones;
// after Close, a connection is closed as soon as it is idle.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch st {
	case http.StateHijacked, http.StateClosed:
		delete(s.conns, c)
		return
	case http.StateNew, http.StateIdle:
		if st == http.StateNew {
			s.accepted++
		}
		if s.closed() {
			_ = c.Close()
		}
	}
	s.conns[c] = st
}

// Accepted is the number of connections the server has accepted: with
// keep-alive, about as many as the client ever ran calls at once.
func (s *Server) Accepted() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return s.accepted
}

// closed reports whether Close was called.
func (s *Server) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.loginRoutes(mux)
	s.contactRoutes(mux)
	s.channelRoutes(mux)
	s.extRoutes(mux)
	s.controlRoutes(mux)
	// Anything else is the mux's 404, or 405 for a known path with the
	// wrong method.
	return s.recoverer(mux)
}

// recoverer is the one place that turns a handler panic into a 500, so a
// bug in the sandbox fails the request instead of the connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", v)
				http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
			}
		}()
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

// writeJSON answers 200 with v as JSON, without HTML escaping (the service
// sent raw UTF-8).
func writeJSON(w http.ResponseWriter, v any) {
	writeJSONStatus(w, http.StatusOK, v)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
