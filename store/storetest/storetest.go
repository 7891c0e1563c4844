// Package storetest gives tests a store.DB: on the redis-server named by
// OPENQQ_TEST_REDIS_URL when it is set (as in CI), else on an embedded Redis
// started for the test. Each test gets a fresh account, so tests can share a
// server and run in parallel; everything is torn down with tb.Cleanup.
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/store"
)

// EnvURL names the variable that points tests at a real Redis.
const EnvURL = "OPENQQ_TEST_REDIS_URL"

// New opens a DB for tb and returns it with a fresh account id. The
// account's keys are deleted and the DB closed when the test ends.
func New(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	return Open(tb, URL(tb))
}

// Open is New on the Redis at url (from URL), for a test that also hands
// url to a subprocess or to code that opens its own DB.
func Open(tb testing.TB, url string) (*store.DB, string) {
	tb.Helper()
	db, err := store.Open(tb.Context(), store.Options{
		URL:    url,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	acct := Account(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.DeleteAccount(ctx, acct); err != nil {
			tb.Errorf("storetest: cleanup: %v", err)
		}
		db.Close()
	})
	return db, acct
}

// URL returns a Redis URL for tb, for code that opens its own DB or for a
// subprocess: OPENQQ_TEST_REDIS_URL when set, else an embedded Redis that
// lives until the test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	emb, err := store.NewEmbedded("")
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() { emb.Close() })
	return emb.URL()
}

// Account is a fresh account id that names the test (for reading a
// shared server's keys).
func Account(tb testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 48 {
		name = name[len(name)-48:]
	}
	return fmt.Sprintf("%s-%08x", name, rand.Uint32())
}
