package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func testLease(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if owner, token, err := e.db.LeaseHolder(ctx, e.acct); owner != "" || token != 0 || err != nil {
		t.Fatalf("LeaseHolder before = %q, %d, %v", owner, token, err)
	}
	a, err := e.db.AcquireLease(ctx, e.acct, "host-a:1", time.Minute)
	if err != nil || a.Owner != "host-a:1" || a.Token < 1 {
		t.Fatalf("AcquireLease = %+v, %v", a, err)
	}
	if v, _ := e.rdb().Get(ctx, leaseKey(e.acct)).Result(); v != fmt.Sprintf("%d:host-a:1", a.Token) {
		t.Errorf("%s = %q", leaseKey(e.acct), v)
	}
	if ttl, _ := e.rdb().PTTL(ctx, leaseKey(e.acct)).Result(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("lease PTTL = %v", ttl)
	}
	if n, _ := e.rdb().Get(ctx, leaseTokenKey(e.acct)).Int64(); n != a.Token {
		t.Errorf("%s = %d, want %d", leaseTokenKey(e.acct), n, a.Token)
	}
	if _, err := e.db.AcquireLease(ctx, e.acct, "host-b:2", time.Minute); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("second owner: %v, want ErrLeaseHeld", err)
	}
	// The same owner again (a restart within the TTL) keeps its token.
	if again, err := e.db.AcquireLease(ctx, e.acct, "host-a:1", time.Minute); err != nil || again != a {
		t.Errorf("same owner: %+v, %v", again, err)
	}
	if owner, token, err := e.db.LeaseHolder(ctx, e.acct); owner != a.Owner || token != a.Token || err != nil {
		t.Errorf("LeaseHolder = %q, %d, %v", owner, token, err)
	}
	if err := e.db.RenewLease(ctx, e.acct, a, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, leaseKey(e.acct)).Result(); ttl <= time.Minute {
		t.Errorf("PTTL after renew = %v", ttl)
	}
	impostor := Lease{Owner: "host-b:2", Token: a.Token}
	if err := e.db.RenewLease(ctx, e.acct, impostor, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew by another owner = %v", err)
	}
	if err := e.db.ReleaseLease(ctx, e.acct, impostor); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("release by another owner = %v", err)
	}
	if err := e.db.ReleaseLease(ctx, e.acct, a); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb().Exists(ctx, leaseKey(e.acct)).Result(); n != 0 {
		t.Error("lease still there after release")
	}
	if err := e.db.RenewLease(ctx, e.acct, a, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew after release = %v", err)
	}
	// Expiry (the key gone), then a takeover: a new, larger token, and the
	// old holder can neither renew nor release.
	b, err := e.db.AcquireLease(ctx, e.acct, "host-b:2", time.Minute)
	if err != nil || b.Token <= a.Token {
		t.Fatalf("takeover = %+v, %v (old token %d)", b, err, a.Token)
	}
	if err := e.db.RenewLease(ctx, e.acct, a, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("old holder renew = %v", err)
	}
	for _, bad := range []struct {
		owner string
		ttl   time.Duration
	}{{"", time.Minute}, {"x", 0}} {
		if _, err := e.db.AcquireLease(ctx, e.acct, bad.owner, bad.ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("AcquireLease(%q, %v) = %v", bad.owner, bad.ttl, err)
		}
	}
}

func testLeaseConcurrent(t *testing.T, e *testEnv) {
	const n = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []Lease
	)
	for i := range n {
		wg.Go(func() {
			l, err := e.db.AcquireLease(t.Context(), e.acct, fmt.Sprint("owner-", i), time.Minute)
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, l)
				mu.Unlock()
			case !errors.Is(err, ErrLeaseHeld):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d owners got the lease: %+v", len(winners), winners)
	}
}
