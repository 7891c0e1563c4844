package store

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The store suite: one list of cases, run on every backend (litestream's
// RunWithReplicaClient): embedded miniredis always, redis-server when
// OPENQQ_TEST_REDIS_URL is set, and a three-master Redis Cluster started by
// TestCluster when redis-server is installed.
var suite = []struct {
	name string
	run  func(t *testing.T, e *testEnv)
}{
	{"Accounts", testAccounts},
	{"Cookies", testCookies},
	{"QRCode", testQRCode},
	{"State", testState},
	{"Contacts", testContacts},
	{"DeleteAccount", testDeleteAccount},

	{"SubmitReply", testSubmitReply},
	{"Enqueue", testEnqueue},
	{"SubmitInvalid", testSubmitInvalid},
	{"SubmitPastDeadline", testSubmitPastDeadline},
	{"SubmitClampsToContext", testSubmitClampsToContext},
	{"SubmitConcurrent", testSubmitConcurrent},
	{"ConsumeCreatesGroup", testConsumeCreatesGroup},
	{"ConsumeSkipsBadEntries", testConsumeSkipsBadEntries},
	{"ReplyBatch", testReplyBatch},
	{"PublishAndReply", testPublishAndReply},
	{"ConsumeAndStart", testConsumeAndStart},
	{"ReclaimAndStart", testReclaimAndStart},
	{"ConsumeAndStartDeadlineDuringBlock", testConsumeAndStartDeadlineDuringBlock},

	{"RaceDeadlineBeforeStart", testRaceDeadlineBeforeStart},
	{"RaceCrashAfterStart", testRaceCrashAfterStart},
	{"RaceReplyWithinGrace", testRaceReplyWithinGrace},
	{"RaceReplyAfterGrace", testRaceReplyAfterGrace},
	{"RaceConnectorClockAhead", testRaceConnectorClockAhead},
	{"RaceDuplicateID", testRaceDuplicateID},
	{"RaceSecondAnswer", testRaceSecondAnswer},
	{"RaceSubmitCancelled", testRaceSubmitCancelled},
	{"RaceFarDeadlineEntry", testRaceFarDeadlineEntry},

	{"CheckEvents", testCheckEvents},
	{"CheckEventsTrim", testCheckEventsTrim},
	{"CheckEventsWait", testCheckEventsWait},
	{"CheckEventsConcurrent", testCheckEventsConcurrent},
	{"CheckEventsWaiterGone", testCheckEventsWaiterGone},
	{"BlockingPoolSeparate", testBlockingPoolSeparate},

	{"AppendEvent", testAppendEvent},
	{"EventsTrim", testEventsTrim},
	{"ReadEvents", testReadEvents},
	{"LastEventID", testLastEventID},
	{"EventGroups", testEventGroups},
	{"EventGroupCaughtUp", testEventGroupCaughtUp},
	{"DeadLetters", testDeadLetters},

	{"Lease", testLease},
	{"LeaseConcurrent", testLeaseConcurrent},
}

// testEnv is what a suite case gets: a DB on the backend, a fresh account,
// and the URL to open more DBs (another process's view of the same Redis).
type testEnv struct {
	db   *DB
	acct string
	url  string
}

// testGrace keeps the tests that wait out a grace period short.
const testGrace = 500 * time.Millisecond

// runSuite runs every case on the Redis at url, in parallel.
func runSuite(t *testing.T, url string) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := &testEnv{url: url, acct: testAccount(t)}
			e.db = e.open(t, Options{})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := e.db.DeleteAccount(ctx, e.acct); err != nil {
					t.Errorf("cleanup: %v", err)
				}
				e.db.short.Del(ctx, leaseTokenKey(e.acct))
			})
			c.run(t, e)
		})
	}
}

// open connects another DB to the backend; zero options get test defaults.
func (e *testEnv) open(t testing.TB, o Options) *DB {
	t.Helper()
	o.URL = e.url
	if o.ClientName == "" {
		// Tests tell their connections apart from others' on a shared server.
		o.ClientName = fmt.Sprintf("openqq-test-%08x", rand.Uint32())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.ReplyGrace == 0 {
		o.ReplyGrace = testGrace
	}
	db, err := Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rdb is the raw client, to check keys one by one.
func (e *testEnv) rdb() redis.UniversalClient { return e.db.short }

// testAccount is a fresh account id that names its test.
func testAccount(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 48 {
		name = name[len(name)-48:]
	}
	return fmt.Sprintf("%s-%08x", name, rand.Uint32())
}

func TestStore(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) {
		emb, err := NewEmbedded("")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { emb.Close() })
		runSuite(t, emb.URL())
	})
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv("OPENQQ_TEST_REDIS_URL")
		if url == "" {
			t.Skip("set OPENQQ_TEST_REDIS_URL (a redis-server) to run the suite on real Redis")
		}
		runSuite(t, url)
	})
}
