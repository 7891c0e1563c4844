package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// DB is the part of *store.DB the connector uses; tests wrap a real one to
// inject outages.
type DB interface {
	Ping(ctx context.Context) error
	AddAccount(ctx context.Context, acct string) error

	AcquireLease(ctx context.Context, acct, owner string, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, acct string, l store.Lease, ttl time.Duration) error
	ReleaseLease(ctx context.Context, acct string, l store.Lease) error

	Cookies(ctx context.Context, acct string) ([]byte, error)
	SaveCookies(ctx context.Context, acct string, jar []byte) error
	SetState(ctx context.Context, acct string, st store.State) error
	SetQRCode(ctx context.Context, acct string, png []byte, ttl time.Duration) error
	DeleteQRCode(ctx context.Context, acct string) error
	SaveContacts(ctx context.Context, acct string, c *openqq.Contacts) error

	PublishAndReply(ctx context.Context, acct string, posts []store.Publication, answers []store.Answer) error

	ConsumeAndStart(ctx context.Context, acct, consumer string, count int, block time.Duration) ([]store.Claim, error)
	ReclaimAndStart(ctx context.Context, acct, consumer string, minIdle time.Duration, running []string) ([]store.Claim, error)
	Reply(ctx context.Context, acct string, d store.Delivery, res openqq.Result) error
}

var _ DB = (*store.DB)(nil)

// Defaults for the zero values of Options.
const (
	DefaultAccount           = "default"
	DefaultRefreshInterval   = 600 * time.Second
	DefaultCheckEventMax     = 20
	DefaultLeaseTTL          = 15 * time.Second
	DefaultCommandTimeout    = 2 * time.Minute
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultDrainTimeout      = 10 * time.Second
	DefaultReclaimIdle       = 5 * time.Minute
	DefaultMaxInflight       = 16
	DefaultEventBuffer       = 10_000
)

// Options configure New. Store and Backend are required; every other zero
// value means the default.
type Options struct {
	Store   DB      // usually a *store.DB
	Backend Backend // the QQ protocol client of the account
	Account string  // account id in Redis; DefaultAccount when empty
	Logger  *slog.Logger
	// Registry receives the connector's metrics; nil means a private one.
	// Metrics carry the account as a constant label, so several runners can
	// share one registry.
	Registry *prometheus.Registry

	RefreshInterval time.Duration // periodic contact refresh (spec §21)
	CheckEventMax   int           // capacity of the check_event buffer (spec §7)
	// PostEvent says whether contact events go to check_event; nil means
	// true. PostEventList names them; nil means openqq.DefaultPostEventList.
	PostEvent     *bool
	PostEventList []string

	LeaseTTL          time.Duration // the account lease; renewed every third of it
	CommandTimeout    time.Duration // longest run of one command
	HeartbeatInterval time.Duration // liveness write while running
	DrainTimeout      time.Duration // in-flight commands get this long at shutdown
	ReclaimIdle       time.Duration // pending commands idle this long are reclaimed
	MaxInflight       int           // commands run at once
	EventBuffer       int           // events kept in memory while Redis is away
}

// Runner keeps one account's QQ session and serves its commands. Create it
// with New and call Run once.
type Runner struct {
	db      DB
	backend Backend
	account string
	log     *slog.Logger
	o       Options // defaults filled in
	router  router
	metrics *metrics
	owner   string // lease owner and stream consumer name, unique per Runner
	started time.Time

	// contacts is the live snapshot. It is replaced, never modified in
	// place, so readers may use it without a lock.
	contacts  atomic.Pointer[openqq.Contacts]
	refreshMu sync.Mutex // serialises contact loads and snapshot edits

	out     atomic.Pointer[outbox] // the current session's writes
	fence   *fence                 // down while the lease is not confirmed
	ctl     chan control           // relogin and stop requests from commands
	redisOK atomic.Bool            // the last Redis call succeeded

	mu       sync.Mutex    // guards the fields below
	st       store.State   // the state record as last set
	stateSig chan struct{} // closed and replaced on every state change
}

// New checks o and builds a Runner.
func New(o Options) (*Runner, error) {
	if o.Store == nil || o.Backend == nil {
		return nil, errors.New("connector: new: Store and Backend are required")
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	setDefault(&o.RefreshInterval, DefaultRefreshInterval)
	setDefault(&o.CheckEventMax, DefaultCheckEventMax)
	setDefault(&o.LeaseTTL, DefaultLeaseTTL)
	setDefault(&o.CommandTimeout, DefaultCommandTimeout)
	setDefault(&o.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&o.DrainTimeout, DefaultDrainTimeout)
	setDefault(&o.ReclaimIdle, DefaultReclaimIdle)
	setDefault(&o.MaxInflight, DefaultMaxInflight)
	setDefault(&o.EventBuffer, DefaultEventBuffer)
	if o.PostEventList == nil {
		o.PostEventList = openqq.DefaultPostEventList
	}
	postEvent := o.PostEvent == nil || *o.PostEvent
	m, err := newMetrics(o.Registry, o.Account)
	if err != nil {
		return nil, fmt.Errorf("connector: new: %w", err)
	}
	host, _ := os.Hostname()
	r := &Runner{
		db:       o.Store,
		backend:  o.Backend,
		account:  o.Account,
		log:      o.Logger.With(openqq.LogKeyComponent, "connector", openqq.LogKeyAccount, o.Account),
		o:        o,
		router:   newRouter(postEvent, o.PostEventList),
		metrics:  m,
		owner:    fmt.Sprintf("%s:%d:%s", host, os.Getpid(), randomHex(4)),
		started:  time.Now(),
		ctl:      make(chan control, 4),
		fence:    newFence(),
		stateSig: make(chan struct{}),
	}
	r.st = store.State{
		Account: o.Account, State: openqq.StateInit, PID: os.Getpid(), Host: host,
		OS: runtime.GOOS, Version: openqq.Version, StartTime: r.started, Owner: r.owner,
	}
	r.metrics.setState(openqq.StateInit)
	closed := newOutbox(r.log, 0, nil, nil, nil)
	closed.closed = true
	r.out.Store(closed)
	return r, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Owner is this runner's lease owner id (host:pid:random).
func (r *Runner) Owner() string { return r.owner }

// Run holds the account until ctx ends or the client stops. It waits for the
// account lease (another connector may hold it), runs the session, and when
// the lease is lost to another connector goes back to waiting. It returns nil
// when ctx is cancelled or stop_client stopped the client, and an error when
// the session ended by itself (forced offline, QR code expired too often).
func (r *Runner) Run(ctx context.Context) error {
	if err := r.retry(ctx, "add account", func(ctx context.Context) error {
		return r.db.AddAccount(ctx, r.account)
	}); err != nil {
		return nilIfDone(ctx, err)
	}
	for {
		lease, err := r.acquireLease(ctx)
		if err != nil {
			return nilIfDone(ctx, err)
		}
		err = r.session(ctx, lease)
		switch {
		case errors.Is(err, errLeaseLost):
			r.log.WarnContext(ctx, "lease lost to another connector; waiting to take over again")
			continue
		case ctx.Err() != nil, errors.Is(err, errStopRequested):
			return nil
		}
		return err
	}
}

func nilIfDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Reasons a session ends.
var (
	errLeaseLost     = errors.New("connector: lease lost")
	errStopRequested = errors.New("connector: stop requested")
)

// session runs one tenure of the lease. Shutdown follows asynq's order: stop
// polling, stop taking commands, let in-flight commands finish (bounded),
// publish stop and set state stop, flush the writes, release the lease last.
// A session that lost its lease leaves the account's state and QQ session to
// the new owner and only flushes what it had queued.
func (r *Runner) session(ctx context.Context, lease store.Lease) error {
	base := context.WithoutCancel(ctx)
	out := newOutbox(r.log, r.o.EventBuffer, r.retry, r.publishPosts, r.metrics.eventsDropped.Inc)
	r.out.Store(out)
	r.mu.Lock()
	r.st.State, r.st.Previous, r.st.Owner, r.st.LoginTime = openqq.StateInit, "", r.owner, time.Time{}
	r.mu.Unlock()
	r.contacts.Store(nil)

	var wg sync.WaitGroup
	outCtx, stopOut := context.WithCancel(base)
	wg.Go(func() { out.run(outCtx) })

	// The lease is kept until the very end, across the drain.
	r.fence.lift()
	sessCtx, endSession := context.WithCancelCause(ctx)
	defer endSession(nil)
	leaseCtx, stopLease := context.WithCancel(base)
	held := make(chan store.Lease, 1)
	wg.Go(func() { held <- r.keepLease(leaseCtx, lease, endSession) })
	defer func() {
		stopLease()
		stopOut()
		wg.Wait()
		r.fence.drop()
	}()

	liveCtx, stopLive := context.WithCancel(sessCtx)
	var live sync.WaitGroup
	live.Go(func() { r.heartbeat(liveCtx) })
	execCtx, stopExec := context.WithCancel(base)
	defer stopExec()
	var inflight sync.WaitGroup
	live.Go(func() { r.consume(liveCtx, execCtx, &inflight) })

	cause := r.drive(sessCtx)
	if c := context.Cause(sessCtx); c != nil && !errors.Is(c, context.Canceled) {
		cause = c
	}
	r.log.InfoContext(ctx, "session ending", "reason", cause)

	stopLive() // no new commands, no heartbeat
	live.Wait()
	r.drain(&inflight, stopExec)

	lost := errors.Is(cause, errLeaseLost)
	r.finish(base, out, lost)
	stopLease()
	if l := <-held; !lost {
		r.releaseLease(base, l)
	}
	return cause
}

// finish publishes stop and sets state stop, unless the lease was lost (the
// account's state is the new owner's then, and ours goes back to init), and
// flushes the session's writes, at most flushTimeout.
func (r *Runner) finish(ctx context.Context, out *outbox, lost bool) {
	if lost {
		out.dropKeyed()
	} else {
		r.publish(openqq.NewEventPost(openqq.EventStop))
		r.setState(openqq.StateStop)
		r.sessionWrite("qrcode", "delete qrcode", func(ctx context.Context) error {
			return r.db.DeleteQRCode(ctx, r.account)
		})
	}
	flushCtx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := out.flush(flushCtx); err != nil {
		r.log.ErrorContext(ctx, "stopping with unwritten events", "pending", out.pending())
	}
	if lost { // set last: a standby runner has written nothing since
		r.mu.Lock()
		r.st.State = openqq.StateInit
		r.mu.Unlock()
		r.metrics.setState(openqq.StateInit)
	}
}

// drain waits for in-flight commands, at most DrainTimeout; then cancels
// them, and they answer "outcome unknown".
func (r *Runner) drain(inflight *sync.WaitGroup, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	t := time.NewTimer(r.o.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
		r.log.Warn("in-flight commands still running at shutdown, cancelling them")
		cancel()
		<-done
	}
}
