package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openqq-relay/openqq"
)

// Defaults for the zero values of Options.
const (
	DefaultBlockingPoolSize = 128
	DefaultCommandsMaxLen   = 100_000
	DefaultEventsMaxLen     = 100_000
	DefaultReplyTTL         = time.Minute
	DefaultReplyGrace       = 2 * time.Second
)

// maxBlock bounds every blocking read: go-redis does not abort a blocked
// command when its context is cancelled (redis/go-redis#2556), so loops
// re-check ctx at least this often.
const maxBlock = 5 * time.Second

// markerSlack is how long an idempotency marker outlives its command's
// deadline: after that the deadline alone keeps the command from running
// again, and the slack covers clock skew between hosts.
const markerSlack = time.Minute

// Options configure Open. The zero value of every field but URL works.
type Options struct {
	// URL names the server; see Open for the accepted forms.
	URL string
	// PoolSize is the connection pool of short commands (per node on a
	// Cluster); 0 means go-redis's default, 10 per CPU.
	PoolSize int
	// BlockingPoolSize is the pool of blocking reads (BLPOP, XREAD(GROUP)
	// BLOCK): one connection per waiting Submit, check_event poller or
	// consumer. 0 means DefaultBlockingPoolSize.
	BlockingPoolSize int
	// Logger receives warnings (undecodable stream entries); nil means
	// slog.Default().
	Logger *slog.Logger
	// TLSConfig is the base TLS configuration for rediss URLs (a private CA,
	// client certificates); nil means the system roots.
	TLSConfig *tls.Config

	// CommandsMaxLen caps the commands stream (MAXLEN ~); 0 means
	// DefaultCommandsMaxLen.
	CommandsMaxLen int64
	// EventsMaxLen caps the events stream (MAXLEN ~); 0 means
	// DefaultEventsMaxLen, negative means no length cap.
	EventsMaxLen int64
	// EventsMaxAge trims events older than this (MINID ~); 0 means no age
	// trim.
	EventsMaxAge time.Duration
	// ReplyTTL is how long an unread reply is kept; 0 means DefaultReplyTTL.
	ReplyTTL time.Duration
	// ReplyGrace is how long Submit still waits after the deadline for the
	// reply of a command that had started; 0 means DefaultReplyGrace.
	ReplyGrace time.Duration
	// ClientName names the connections in CLIENT LIST (CLIENT SETNAME), so
	// an operator sees which are whose: ClientName for short commands,
	// ClientName + ":block" for blocking reads. Empty means DefaultClientName.
	ClientName string
}

// DefaultClientName is the connection name when Options.ClientName is empty.
const DefaultClientName = "openqq"

// DB is the Redis store of OpenQQ Relay. It is safe for concurrent use.
type DB struct {
	short redis.UniversalClient // short commands; never blocks
	block redis.UniversalClient // blocking reads only, so they never starve short commands
	log   *slog.Logger

	blockName string // CLIENT SETNAME of the blocking connections

	commandsMaxLen int64
	eventsMaxLen   int64
	eventsMaxAge   time.Duration
	replyTTL       time.Duration
	replyGrace     time.Duration

	now func() time.Time // the clock of deadlines; tests skew it
}

// Open connects to the Redis server named by o.URL and pings it. Accepted
// URL forms:
//
//	redis://[user:pass@]host:port[/db]     rediss:// for TLS (AUTH/ACL user and password)
//	redis+sentinel://[user:pass@]h1:p1,h2:p2/mastername[/db]
//	redis+cluster://[user:pass@]h1:p1,h2:p2  or a bare list h1:p1,h2:p2
//
// Short commands and blocking reads use two clients with separate pools, both
// with ContextTimeoutEnabled so that a context deadline ends any call.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.PoolSize < 0 || o.BlockingPoolSize < 0 || o.CommandsMaxLen < 0 || o.EventsMaxAge < 0 || o.ReplyTTL < 0 || o.ReplyGrace < 0 {
		return nil, fmt.Errorf("store: open: %w: negative option", ErrInvalid)
	}
	name := o.ClientName
	if name == "" {
		name = DefaultClientName
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, fmt.Errorf("store: open: %w: client name %q: printable ASCII without spaces only", ErrInvalid, name)
	}
	ep, err := parseURL(o.URL, o.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db := &DB{
		short:          ep.client(o.PoolSize, 0, name),
		block:          ep.client(orDefault(o.BlockingPoolSize, DefaultBlockingPoolSize), maxBlock+5*time.Second, name+":block"),
		blockName:      name + ":block",
		log:            o.Logger,
		commandsMaxLen: orDefault(o.CommandsMaxLen, DefaultCommandsMaxLen),
		eventsMaxLen:   orDefault(o.EventsMaxLen, DefaultEventsMaxLen),
		eventsMaxAge:   o.EventsMaxAge,
		replyTTL:       orDefault(o.ReplyTTL, DefaultReplyTTL),
		replyGrace:     orDefault(o.ReplyGrace, DefaultReplyGrace),
		now:            time.Now,
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	db.log = db.log.With(openqq.LogKeyComponent, "store")
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return db, nil
}

// orDefault is v, or def when v is zero.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// client builds one client of the endpoint. readTimeout 0 keeps go-redis's
// defaults (the short client); the blocking client needs a read timeout above
// its longest block, and runs its pipelines (Submit's XADD + BLPOP) on its
// own pool rather than go-redis's small dedicated pipeline pool.
func (ep *endpoint) client(poolSize int, readTimeout time.Duration, name string) redis.UniversalClient {
	switch {
	case ep.cluster != nil:
		o := *ep.cluster
		o.PoolSize, o.ContextTimeoutEnabled, o.ClientName = poolSize, true, name
		if readTimeout > 0 {
			o.ReadTimeout, o.PipelinePoolSize = readTimeout, -1
		}
		return redis.NewClusterClient(&o)
	case ep.sentinel != nil:
		o := *ep.sentinel
		o.PoolSize, o.ContextTimeoutEnabled, o.ClientName = poolSize, true, name
		if readTimeout > 0 {
			o.ReadTimeout, o.PipelinePoolSize = readTimeout, -1
		}
		return redis.NewFailoverClient(&o)
	}
	o := *ep.single
	if poolSize > 0 {
		o.PoolSize = poolSize
	}
	o.ContextTimeoutEnabled, o.ClientName = true, name
	if readTimeout > 0 {
		o.ReadTimeout, o.PipelinePoolSize = readTimeout, -1
	}
	return redis.NewClient(&o)
}

// Close closes both clients.
func (db *DB) Close() error {
	return errors.Join(db.short.Close(), db.block.Close())
}

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.short.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Client is the client of short commands, for what the store does not
// cover (health checks, metrics). Keys are the store's business.
func (db *DB) Client() redis.UniversalClient { return db.short }

// checkAccount rejects account ids that would break the {account} hash tag.
func checkAccount(a string) error {
	if a == "" || strings.ContainsAny(a, "{}") {
		return fmt.Errorf("%w: account %q: must be non-empty, without braces", ErrInvalid, a)
	}
	return nil
}

// newID is a random id for commands that come without one.
func newID() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

// isNil tells a missing key or an empty blocking read from a failure.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
