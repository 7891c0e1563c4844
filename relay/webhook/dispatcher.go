package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Defaults of Options.
const (
	DefaultAccount         = "default"
	DefaultRefreshInterval = 2 * time.Second
	DefaultLeaseTTL        = 15 * time.Second
	DefaultBatchSize       = 100
	DefaultBlock           = 2 * time.Second
	DefaultCommandDeadline = 30 * time.Second
	DefaultReplyMaxAge     = 10 * time.Minute
)

// Options configure a Dispatcher. Store is required; every other zero value
// means its default.
type Options struct {
	Store   Store
	Account string // DefaultAccount when empty
	// Subscribers are the configured ones (OPENQQ_POST_API). Sync registers
	// them in Redis, keeping a pause or a disable, and removes configured
	// subscribers that are no longer listed; those added through the admin
	// API stay. An empty ID is derived from the URL (ConfigID).
	Subscribers []Subscriber
	// PostStdout prints every payload that the stdout filter lets through as
	// one JSON line on Stdout (spec §8.1 post_stdout). StdoutFilter holds
	// its post_event options; its URL is ignored. The printer is a
	// subscriber too ("stdout", never stored): of several processes that
	// print, one prints each event.
	PostStdout   bool
	StdoutFilter Subscriber
	Stdout       io.Writer // os.Stdout when nil

	// Secrets sign every delivery (see Signer); none means unsigned.
	Secrets []string
	// Timeout of one attempt to a subscriber that may not reply, and to one
	// that may (DefaultTimeout, DefaultReplyTimeout).
	Timeout      time.Duration
	ReplyTimeout time.Duration
	Policy       Policy
	// ReplyToSent lets replies to send_message reports act, as the original
	// did; a receiver that always replies then loops forever ([GO] spec §8.3,
	// issue #237). Off by default.
	ReplyToSent bool
	// ReplyMaxAge: a reply to a message older than this is dropped, so a
	// subscriber that comes back after an outage does not answer a backlog
	// of stale messages.
	ReplyMaxAge time.Duration
	// CommandDeadline is the deadline of reply commands on the bus.
	CommandDeadline time.Duration

	HTTPClient *http.Client // redirects are never followed, whatever it says
	UserAgent  string       // "openqq-relay/<version>" when empty
	// AdminTokens guard AdminHandler; none means every admin call is refused.
	AdminTokens []openqq.Secret

	RefreshInterval time.Duration // how often the registry is re-read
	LeaseTTL        time.Duration // per-subscriber delivery lease
	BatchSize       int           // events read per XREADGROUP
	Block           time.Duration // XREADGROUP BLOCK, at most 5 s

	Clock    Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil: a private registry
	// Owner names this dispatcher in leases and consumer names; unique per
	// process when empty.
	Owner string
}

// Dispatcher fans the account's events stream out to its post_api
// subscribers. Each subscriber has its own consumer group and its own
// goroutine, so a slow or dead subscriber never delays another one.
type Dispatcher struct {
	o       Options
	db      Store
	account string
	signer  *Signer
	client  *http.Client
	clock   Clock
	policy  Policy
	log     *slog.Logger
	metrics *metrics
	stdout  *lockedWriter
	wake    chan struct{} // the admin API asks for a refresh now

	known map[string]bool // subscribers seen by the last refresh; only Run uses it

	mu      sync.Mutex         // guards workers and stopped
	workers map[string]*worker // running ones, by subscriber id
	stopped bool
	wg      sync.WaitGroup
}

// New checks o and builds a Dispatcher; it does no I/O.
func New(o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, errors.New("webhook: new: Store is required")
	}
	o = o.withDefaults()
	signer, err := NewSigner(o.Secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook: new: %w", err)
	}
	subs := make([]Subscriber, len(o.Subscribers))
	for i, s := range o.Subscribers {
		if s.ID == "" {
			s.ID = ConfigID(s.URL)
		}
		s.Source = SourceConfig
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("webhook: new: subscriber %d: %w", i+1, err)
		}
		subs[i] = s
	}
	o.Subscribers = subs
	o.StdoutFilter.ID, o.StdoutFilter.URL, o.StdoutFilter.Source = StdoutID, "", SourceLocal
	m, err := newMetrics(o.Registry, o.Account)
	if err != nil {
		return nil, fmt.Errorf("webhook: new: %w", err)
	}
	return &Dispatcher{
		o:       o,
		db:      o.Store,
		account: o.Account,
		signer:  signer,
		client:  noRedirects(o.HTTPClient),
		clock:   o.Clock,
		policy:  o.Policy.withDefaults(),
		log:     o.Logger.With(openqq.LogKeyComponent, "webhook", openqq.LogKeyAccount, o.Account),
		metrics: m,
		stdout:  &lockedWriter{w: o.Stdout},
		wake:    make(chan struct{}, 1),
		known:   map[string]bool{},
		workers: map[string]*worker{},
	}, nil
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	setDefault(&o.Timeout, DefaultTimeout)
	setDefault(&o.ReplyTimeout, DefaultReplyTimeout)
	setDefault(&o.ReplyMaxAge, DefaultReplyMaxAge)
	setDefault(&o.CommandDeadline, DefaultCommandDeadline)
	setDefault(&o.RefreshInterval, DefaultRefreshInterval)
	setDefault(&o.LeaseTTL, DefaultLeaseTTL)
	setDefault(&o.BatchSize, DefaultBatchSize)
	setDefault(&o.Block, DefaultBlock)
	o.Block = min(o.Block, 5*time.Second)
	if o.UserAgent == "" {
		o.UserAgent = "openqq-relay/" + openqq.Version
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Owner == "" {
		o.Owner = newOwner()
	}
	return o
}

// noRedirects copies c (or builds a keep-alive client) so that redirects are
// answered, not followed: Standard Webhooks counts a 3xx as a failure, and a
// redirect must not turn a POST into a GET elsewhere.
func noRedirects(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 16
		out.Transport = t
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// Run delivers until ctx ends, then stops every subscriber's goroutine and
// returns nil. It registers the configured subscribers first (Sync) and
// retries while Redis is away.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.stopAll()
	for ctx.Err() == nil {
		if err := d.Sync(ctx); err == nil {
			break
		} else if ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhook sync failed; retrying", openqq.LogKeyErr, err)
			_ = sleep(ctx, time.Second)
		}
	}
	t := time.NewTicker(d.o.RefreshInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := d.refresh(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhook registry read failed", openqq.LogKeyErr, err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-d.wake:
		}
	}
	return nil
}

// Sync registers the configured subscribers in Redis and creates the
// consumer groups of every active subscriber, so that no event appended
// after Sync returns is missed. Run calls it; call it before starting the
// producer when events must not be missed at start-up.
func (d *Dispatcher) Sync(ctx context.Context) error {
	stored, err := d.db.WebhookSubscribers(ctx, d.account)
	if err != nil {
		return fmt.Errorf("webhook: sync: %w", err)
	}
	want := map[string]bool{}
	for _, s := range d.o.Subscribers {
		want[s.ID] = true
		if err := d.save(ctx, s); err != nil {
			return fmt.Errorf("webhook: sync: %w", err)
		}
	}
	for _, st := range stored {
		s, err := decodeSubscriber(st)
		if err != nil || s.Source != SourceConfig || want[s.ID] {
			continue
		}
		if _, err := d.db.DeleteWebhookSubscriber(ctx, d.account, s.ID, s.group()); err != nil {
			return fmt.Errorf("webhook: sync: %w", err)
		}
		d.log.InfoContext(ctx, "configured subscriber removed", openqq.LogKeySubscriber, s.ID)
	}
	if d.o.PostStdout {
		if err := d.db.EventGroup(ctx, d.account, d.o.StdoutFilter.group(), "$"); err != nil {
			return fmt.Errorf("webhook: sync: %w", err)
		}
	}
	return nil
}

// save registers one subscriber and creates its group from the next event.
func (d *Dispatcher) save(ctx context.Context, s Subscriber) error {
	return d.saveFrom(ctx, s, "$")
}

func (d *Dispatcher) saveFrom(ctx context.Context, s Subscriber, start string) error {
	if s.Created.IsZero() {
		s.Created = d.clock.Now().UTC()
	}
	// The group first: a subscriber that exists has a group.
	if err := d.db.EventGroup(ctx, d.account, s.group(), start); err != nil {
		return err
	}
	cfg, err := encodeSubscriber(s)
	if err != nil {
		return err
	}
	created, err := d.db.SaveWebhookSubscriber(ctx, d.account, s.ID, cfg,
		store.WebhookStatus{State: StateActive, Since: d.clock.Now().UTC()})
	if err == nil && created {
		d.log.InfoContext(ctx, "subscriber added", openqq.LogKeySubscriber, s.ID, "url", redactURL(s.URL), "source", s.Source)
	}
	return err
}

// refresh reads the registry and starts or stops subscriber goroutines.
func (d *Dispatcher) refresh(ctx context.Context) error {
	stored, err := d.db.WebhookSubscribers(ctx, d.account)
	if err != nil {
		return err
	}
	active, seen := map[string]Subscriber{}, map[string]bool{}
	for _, st := range stored {
		s, err := decodeSubscriber(st)
		if err != nil {
			d.log.WarnContext(ctx, "skipping unreadable subscriber", openqq.LogKeySubscriber, st.ID, openqq.LogKeyErr, err)
			continue
		}
		seen[s.ID] = true
		d.metrics.setState(s.ID, st.Status.State)
		if st.Status.State == StateActive {
			active[s.ID] = s
		}
	}
	for id := range d.known {
		if !seen[id] {
			d.metrics.forget(id)
		}
	}
	d.known = seen
	if d.o.PostStdout {
		active[StdoutID] = d.o.StdoutFilter
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil
	}
	for id, w := range d.workers {
		if _, ok := active[id]; !ok {
			w.stop()
			delete(d.workers, id)
		}
	}
	for id, s := range active {
		if w, ok := d.workers[id]; ok && !w.finished() {
			w.update(s)
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := newWorker(d, s, cancel)
		d.workers[id] = w
		d.wg.Go(func() { defer cancel(); w.run(wctx) })
	}
	return nil
}

// stopAll stops every worker and waits for them.
func (d *Dispatcher) stopAll() {
	d.mu.Lock()
	d.stopped = true
	for id, w := range d.workers {
		w.stop()
		delete(d.workers, id)
	}
	d.mu.Unlock()
	d.wg.Wait()
}

// poke asks Run to re-read the registry now.
func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// worker returns the running worker of a subscriber, if any.
func (d *Dispatcher) worker(id string) *worker {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.workers[id]
}

// timeout is the attempt timeout of s.
func (d *Dispatcher) timeout(s *Subscriber) time.Duration {
	switch {
	case s.Timeout > 0:
		return time.Duration(s.Timeout)
	case s.Reply:
		return d.o.ReplyTimeout
	}
	return d.o.Timeout
}

// lockedWriter serialises lines from several goroutines.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) writeLine(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := make([]byte, 0, len(b)+1)
	line = append(append(line, b...), '\n')
	_, err := l.w.Write(line)
	return err
}

func newOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
