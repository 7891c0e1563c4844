package relay

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// countingStore counts full snapshot reads.
type countingStore struct {
	*store.DB
	reads atomic.Int32
}

func (c *countingStore) Contacts(ctx context.Context, acct string) (*openqq.Contacts, error) {
	c.reads.Add(1)
	return c.DB.Contacts(ctx, acct)
}

func TestSnapshotKeptUntilItsVersionMoves(t *testing.T) {
	var counting *countingStore
	e := newEnv(t, func(o *Options) {
		counting = &countingStore{DB: o.Store.(*store.DB)}
		o.Store = counting
	}).seed()
	for range 3 {
		if res := e.do(get("/openqq/get_friend_info")); res.status != 200 || !strings.Contains(string(res.body), "2457053936") {
			t.Fatalf("get_friend_info: %d %s", res.status, res.body)
		}
	}
	if n := counting.reads.Load(); n != 1 {
		t.Errorf("3 reads of an unchanged snapshot fetched it %d times, want 1", n)
	}

	// A new snapshot is served at once.
	c := fixtureContacts()
	c.Friends = []openqq.Friend{{ID: 42, Name: "新朋友", State: openqq.StatusOnline, ClientType: openqq.ClientTypeUnknown}}
	if err := e.db.SaveContacts(t.Context(), e.acct, c); err != nil {
		t.Fatal(err)
	}
	res := e.do(get("/openqq/get_friend_info"))
	if res.status != 200 || !strings.Contains(string(res.body), "新朋友") || strings.Contains(string(res.body), "2457053936") {
		t.Fatalf("after a new snapshot: %d %s", res.status, res.body)
	}
	if n := counting.reads.Load(); n != 2 {
		t.Errorf("snapshot fetched %d times, want 2", n)
	}
}
