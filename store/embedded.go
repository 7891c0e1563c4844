package store

import (
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Embedded is an in-process Redis (miniredis) for the all-in-one mode
// (`openqq up` without OPENQQ_REDIS_URL) and for tests. It keeps nothing
// across restarts. miniredis does not expire keys by itself, so a ticker
// moves its clock forward once a second and TTLs (replies, markers, QR codes,
// leases) run out as on a real server.
type Embedded struct {
	m    *miniredis.Miniredis
	stop chan struct{}
	wg   sync.WaitGroup // the ticker goroutine

	closeOnce sync.Once
}

// NewEmbedded starts an embedded Redis listening on addr ("" means
// 127.0.0.1:0, a free loopback port).
func NewEmbedded(addr string) (*Embedded, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("store: embedded redis: %w", err)
	}
	e := &Embedded{m: m, stop: make(chan struct{})}
	e.wg.Go(e.tick)
	return e, nil
}

// tick moves miniredis's TTL clock along with the wall clock.
func (e *Embedded) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.m.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Addr is the host:port the server listens on.
func (e *Embedded) Addr() string { return e.m.Addr() }

// URL is the redis:// URL to pass to Open.
func (e *Embedded) URL() string { return "redis://" + e.m.Addr() + "/0" }

// Close stops the ticker and the server, closing client connections.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		e.wg.Wait()
		e.m.Close()
	})
	return nil
}
