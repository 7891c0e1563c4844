package webhook

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/store"
)

// watchedStore tells a test each time Drain looks at a group's progress.
type watchedStore struct {
	*store.DB
	looked chan string // group names
}

func (s *watchedStore) EventGroupCaughtUp(ctx context.Context, acct, group, upTo string) (bool, error) {
	ok, err := s.DB.EventGroupCaughtUp(ctx, acct, group, upTo)
	select {
	case s.looked <- group:
	default:
	}
	return ok, err
}

// TestDrain: Drain returns once a healthy subscriber has every event that
// was in the stream when it was called, and not before; an event appended
// later, a paused subscriber and a failing one (waiting for a retry, or
// behind an open breaker) do not hold it up.
func TestDrain(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy Policy
	}{
		{"failing subscriber waits for a retry", Policy{}},
		{"failing subscriber behind an open breaker", Policy{Schedule: []time.Duration{0}, BreakerThreshold: 1}},
	} {
		t.Run(c.name, func(t *testing.T) { testDrain(t, c.policy) })
	}
}

func testDrain(t *testing.T, policy Policy) {
	e := newEnv(t)
	clock := newFakeClock()
	live, failing, paused := newReceiver(t), newReceiver(t), newReceiver(t)
	release, late := make(chan struct{}), make(chan struct{})
	live.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		switch rec.content() {
		case "m1": // in flight until the test lets it go
			<-release
		case "m3": // appended after Drain was called: never answered while the test runs
			<-late
		}
	})
	failing.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, _ int) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	subs := []Subscriber{{URL: live.URL}, {URL: failing.URL}, {URL: paused.URL}}
	o := e.options(t, clock, subs...)
	o.Policy.Schedule, o.Policy.BreakerThreshold = policy.Schedule, policy.BreakerThreshold
	ws := &watchedStore{DB: e.db, looked: make(chan string, 64)}
	o.Store = ws

	// Paused before the dispatcher starts: Sync keeps the pause.
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	pausedID := ConfigID(paused.URL)
	if err := e.db.SetWebhookStatus(t.Context(), e.acct, pausedID, store.WebhookStatus{State: StatePaused, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := start(t, o)
	t.Cleanup(func() { close(late) }) // before the receivers close, which waits for their handlers

	e.appendAll(t, messages(3)...)
	live.waitContents(t, "m1")
	clock.nextSleep(t) // the failing subscriber waits: for its retry, or for its breaker

	drained := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	defer cancel()
	go func() { drained <- r.Drain(ctx) }()
	liveGroup := (&Subscriber{ID: ConfigID(live.URL)}).group()
	for looks := 0; looks < 2; {
		select {
		case g := <-ws.looked:
			if g == liveGroup {
				looks++
			}
		case <-time.After(guard):
			t.Fatal("Drain never looked at the live subscriber")
		}
	}
	e.appendAll(t, friendMessage(11, "m3"))
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while m1 was in flight", err)
	default:
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatalf("Drain = %v", err)
	}
	if got := contents(live.requests()); len(got) < 3 || !slices.Equal(got[:3], []string{"m0", "m1", "m2"}) {
		t.Errorf("when Drain returned the live subscriber had %v", got)
	}
	if got := paused.requests(); len(got) != 0 {
		t.Errorf("the paused subscriber got %v", contents(got))
	}

	// Drain ends with its context.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if err := r.Drain(ctx); err == nil {
		t.Error("Drain on an ended context returned nil")
	}
}
