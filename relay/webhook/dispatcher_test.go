package webhook

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

// A subscriber that is down does not delay the others: they receive every
// event before the dead one is even retried (its retry needs the clock to
// move, and nobody moved it), and once it is back it receives everything,
// in order, the failed event again under the same webhook-id.
func TestFanOutWithOneSubscriberDown(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	a, b, c := newReceiver(t), newReceiver(t), newReceiver(t)
	var up atomic.Bool
	c.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, _ int) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	start(t, e.options(t, clock, Subscriber{URL: a.URL}, Subscriber{URL: b.URL}, Subscriber{URL: c.URL}))

	const n = 20
	e.appendAll(t, messages(n)...)
	want := names("m", n)
	for _, rc := range []*receiver{a, b} {
		got := rc.waitFor(t, "all events", func(got []received) bool { return len(got) >= n })
		if !slices.Equal(contents(got), want) {
			t.Errorf("healthy subscriber got %v", contents(got))
		}
	}
	if got := c.requests(); len(got) > 1 {
		t.Fatalf("the dead subscriber was retried before the clock moved: %v", contents(got))
	}
	if d := clock.nextSleep(t); d != time.Second {
		t.Fatalf("first retry wait = %s, want 1s", d)
	}
	up.Store(true)
	clock.Advance(time.Second)
	got := c.waitFor(t, "everything after recovery", func(got []received) bool { return len(got) >= n+1 })
	if !slices.Equal(contents(got), append([]string{"m0"}, want...)) {
		t.Errorf("recovered subscriber got %v", contents(got))
	}
	if got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
		t.Error("a retry must keep its webhook-id")
	}
	ids := map[string]bool{}
	for _, r := range append(a.requests(), b.requests()...) {
		ids[r.Header.Get("webhook-id")] = true
	}
	if len(ids) != 2*n {
		t.Errorf("%d distinct webhook-ids for %d deliveries to two subscribers", len(ids), 2*n)
	}
	if got := a.requests()[0]; got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("User-Agent") != "openqq-relay/"+openqq.Version {
		t.Errorf("headers = %v", got.Header)
	}
}

// The body is the stream entry's bytes, untouched.
func TestPayloadIsTheStreamEntry(t *testing.T) {
	e := newEnv(t)
	a := newReceiver(t)
	start(t, e.options(t, newFakeClock(), Subscriber{URL: a.URL}))
	post := []byte(`{"class":"recv","content":"。\/x","id":"64529","post_type":"receive_message","receiver":"test","type":"friend_message","sender_id":"1","unknown_field":[1,2]}`)
	e.appendAll(t, post)
	got := a.waitFor(t, "the post", func(got []received) bool { return len(got) == 1 })
	if !bytes.Equal(got[0].Body, post) {
		t.Errorf("body = %s", got[0].Body)
	}
}

// A dispatcher stopped while a delivery is in flight loses nothing: the
// next one delivers that event again, with the same webhook-id, then the
// rest, in order.
func TestStopMidDeliveryLosesNothing(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	var blocked atomic.Bool
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		if rec.content() == "m3" && blocked.CompareAndSwap(false, true) {
			<-r.Context().Done() // hold the first m3 until the dispatcher gives up
			return
		}
	})
	first := start(t, e.options(t, newFakeClock(), Subscriber{URL: rc.URL}))
	e.appendAll(t, messages(10)...)
	rc.waitContents(t, "m3")
	first.stop()

	o := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o.Store = e.open(t)
	start(t, o)
	got := rc.waitFor(t, "m9", func(got []received) bool { return slices.Contains(contents(got), "m9") })
	checkAtLeastOnceInOrder(t, got, names("m", 10))
	if n := count(got, "m3"); n != 2 {
		t.Errorf("m3 was in flight at the stop; want it exactly twice, got it %d times", n)
	}
}

// A dispatcher that loses Redis (its process hung or its network died)
// loses its lease; another takes over the events it had read and not
// acknowledged.
func TestCrashedDispatcherIsTakenOver(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	var blocked atomic.Bool
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		if rec.content() == "m3" && blocked.CompareAndSwap(false, true) {
			<-r.Context().Done()
			return
		}
	})
	crashing := e.open(t)
	o := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o.Store, o.LeaseTTL = crashing, 600*time.Millisecond
	start(t, o)
	e.appendAll(t, messages(10)...)
	rc.waitContents(t, "m3")
	crashing.Close() // no ack, no lease renewal, no release from now on

	o2 := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o2.LeaseTTL = 600 * time.Millisecond
	start(t, o2)
	got := rc.waitFor(t, "m9", func(got []received) bool { return slices.Contains(contents(got), "m9") })
	checkAtLeastOnceInOrder(t, got, names("m", 10))
	if n := count(got, "m3"); n < 2 {
		t.Errorf("m3 was in flight at the crash; want it again, got it %d times", n)
	}
}

func count(got []received, content string) int {
	n := 0
	for _, c := range contents(got) {
		if c == content {
			n++
		}
	}
	return n
}

// checkAtLeastOnceInOrder: every event arrived; each repeat kept its
// webhook-id; the last delivery of each event came in order.
func checkAtLeastOnceInOrder(t *testing.T, got []received, want []string) {
	t.Helper()
	ids := map[string]string{}
	last := map[string]int{}
	for i, r := range got {
		c, id := r.content(), r.Header.Get("webhook-id")
		if prev, ok := ids[c]; ok && prev != id {
			t.Errorf("%s came again under another webhook-id", c)
		}
		ids[c], last[c] = id, i
	}
	for i, w := range want {
		if _, ok := last[w]; !ok {
			t.Fatalf("%s lost; got %v", w, contents(got))
		}
		if i > 0 && last[w] < last[want[i-1]] {
			t.Errorf("%s delivered before %s: %v", w, want[i-1], contents(got))
		}
	}
}

// Signatures checked by the independent verifiers of sign_test.go, on
// every attempt.
func TestSignedDeliveriesAcrossRetries(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	whsec := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	o := e.options(t, clock, Subscriber{URL: rc.URL})
	o.Secrets = []string{"onebot-secret", whsec}
	start(t, o)
	e.appendAll(t, friendMessage(11, "signed"))
	if d := clock.nextSleep(t); d != time.Second {
		t.Fatalf("retry wait = %s", d)
	}
	clock.Advance(time.Second)
	got := rc.waitFor(t, "two attempts", func(got []received) bool { return len(got) == 2 })
	for i, r := range got {
		for _, sec := range o.Secrets {
			if err := verifyStandard(r.Header, r.Body, sec, clock.Now()); err != nil {
				t.Errorf("attempt %d, secret %.6s…: %v", i+1, sec, err)
			}
		}
		if err := verifyOneBot(r.Header, r.Body, "onebot-secret"); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
	if got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
		t.Error("webhook-id changed between attempts")
	}
	if got[0].Header.Get("webhook-timestamp") == got[1].Header.Get("webhook-timestamp") {
		t.Error("webhook-timestamp must be the time of each attempt")
	}
}

// 410 Gone disables the subscriber; nothing goes there until it is resumed,
// then the pending events go, in order.
func TestGoneDisablesSubscriber(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	var back atomic.Bool
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, _ int) {
		if !back.Load() {
			w.WriteHeader(http.StatusGone)
		}
	})
	o := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o.AdminTokens = []openqq.Secret{"admin-secret"}
	d := start(t, o)
	e.appendAll(t, messages(2)...)
	id := ConfigID(rc.URL)
	eventually(t, "disabled", func() bool { return e.status(t, id).State == StateDisabled })
	if st := e.status(t, id); !strings.Contains(st.Reason, "410") {
		t.Errorf("reason = %q", st.Reason)
	}
	// The dispatcher restarting keeps it disabled.
	d.stop()
	d = start(t, o)

	back.Store(true)
	if code, _ := admin(t, d.AdminHandler(), "POST", "/webhook/subscribers/"+id+"/resume", ""); code != http.StatusOK {
		t.Fatalf("resume = %d", code)
	}
	got := rc.waitContents(t, "m1")
	if !slices.Equal(contents(got), []string{"m0", "m0", "m1"}) {
		t.Errorf("got %v: nothing may go out while disabled", contents(got))
	}
}

// Retry-After, in seconds or as a date, sets the wait when it is longer
// than the schedule's.
func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, n int) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", clock.Now().Add(300*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	start(t, e.options(t, clock, Subscriber{URL: rc.URL}))
	e.appendAll(t, friendMessage(11, "x"))
	if d := clock.nextSleep(t); d != 120*time.Second {
		t.Fatalf("wait after Retry-After: 120 = %s", d)
	}
	clock.Advance(120 * time.Second)
	if d := clock.nextSleep(t); d != 300*time.Second {
		t.Fatalf("wait after a Retry-After date 300 s ahead = %s", d)
	}
	clock.Advance(300 * time.Second)
	rc.waitFor(t, "third attempt", func(got []received) bool { return len(got) == 3 })
}

// The breaker opens after a few failures in a row: the next attempt waits
// for the open period even when the schedule says sooner.
func TestBreakerHoldsAttempts(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, n int) {
		if n <= 2 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	o := e.options(t, clock, Subscriber{URL: rc.URL})
	o.Policy.BreakerThreshold, o.Policy.BreakerCooldown = 2, 45*time.Second
	start(t, o)
	e.appendAll(t, friendMessage(11, "x"))
	if d := clock.nextSleep(t); d != time.Second {
		t.Fatalf("first wait = %s", d)
	}
	clock.Advance(time.Second)
	if d := clock.nextSleep(t); d != 45*time.Second {
		t.Fatalf("wait with the breaker open = %s, want the 45 s open period over the schedule's 5 s", d)
	}
	clock.Advance(45 * time.Second)
	rc.waitFor(t, "probe", func(got []received) bool { return len(got) == 3 })
}

// Messages always go; events only when post_event is on and they are
// listed; discuss property changes never (spec §8.2).
func TestEventFilter(t *testing.T) {
	e := newEnv(t)
	all, none, listed := newReceiver(t), newReceiver(t), newReceiver(t)
	off := false
	start(t, e.options(t, newFakeClock(),
		Subscriber{URL: all.URL},
		Subscriber{URL: none.URL, PostEvent: &off},
		Subscriber{URL: listed.URL, PostEventList: []string{openqq.EventNewFriend, openqq.EventDiscussPropertyChange}},
	))
	e.appendAll(t,
		eventPost(openqq.EventLogin, 1),
		eventPost(openqq.EventNewFriend, map[string]any{"id": "5"}),
		eventPost(openqq.EventGroupPropertyChange, map[string]any{}, "name", "a", "b"),
		eventPost(openqq.EventDiscussPropertyChange, map[string]any{}, "name", "a", "b"),
		[]byte(`{"post_type":"mystery"}`),
		friendMessage(11, "last"),
	)
	for _, c := range []struct {
		rc   *receiver
		want []string
	}{
		{all, []string{"event:login", "event:new_friend", "last"}},
		{none, []string{"last"}},
		{listed, []string{"event:new_friend", "last"}},
	} {
		got := c.rc.waitContents(t, "last")
		if !slices.Equal(contents(got), c.want) {
			t.Errorf("got %v, want %v", contents(got), c.want)
		}
	}
}

// post_stdout prints each payload that passes its filter as one line.
func TestPostStdout(t *testing.T) {
	e := newEnv(t)
	out := &syncBuffer{}
	rc := newReceiver(t)
	o := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o.PostStdout, o.Stdout = true, out
	start(t, o)
	posts := [][]byte{eventPost(openqq.EventStop), eventPost(openqq.EventGroupPropertyChange), friendMessage(11, "hi")}
	e.appendAll(t, posts...)
	eventually(t, "three lines", func() bool { return strings.Count(out.String(), "\n") >= 2 })
	want := string(posts[0]) + "\n" + string(posts[2]) + "\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}

// syncBuffer is a bytes.Buffer safe for the dispatcher's goroutines.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Two dispatcher instances share the registry and never deliver an event
// twice while both are healthy: one holds each subscriber's lease.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	o1 := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o2 := e.options(t, newFakeClock(), Subscriber{URL: rc.URL})
	o2.Store = e.open(t)
	start(t, o1)
	start(t, o2)
	e.appendAll(t, messages(30)...)
	got := rc.waitContents(t, "m29")
	if !slices.Equal(contents(got), names("m", 30)) {
		t.Errorf("got %v", contents(got))
	}
}

// Without the dispatcher's Sync a missing group is recreated, and a
// configured subscriber dropped from the configuration is removed.
func TestSyncRemovesUnlistedConfigured(t *testing.T) {
	e := newEnv(t)
	a, b := newReceiver(t), newReceiver(t)
	d, err := New(e.options(t, newFakeClock(), Subscriber{URL: a.URL}, Subscriber{URL: b.URL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	d2, _ := New(e.options(t, newFakeClock(), Subscriber{URL: b.URL}))
	if err := d2.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	subs, _ := e.db.WebhookSubscribers(t.Context(), e.acct)
	if len(subs) != 1 || subs[0].ID != ConfigID(b.URL) {
		t.Errorf("subscribers = %+v", subs)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t)
	for _, o := range []Options{
		{},
		{Store: e.db, Subscribers: []Subscriber{{URL: "ftp://x"}}},
		{Store: e.db, Subscribers: []Subscriber{{URL: "http://x", Timeout: Duration(time.Hour)}}},
		{Store: e.db, Secrets: []string{"whsec_!!"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// A receiver that never answers costs the attempt timeout, then a retry.
func TestTimeoutIsRetried(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, n int) {
		if n == 1 {
			<-r.Context().Done()
		}
	})
	o := e.options(t, clock, Subscriber{URL: rc.URL, Timeout: Duration(100 * time.Millisecond)})
	start(t, o)
	e.appendAll(t, friendMessage(11, "slow"))
	if d := clock.nextSleep(t); d != time.Second {
		t.Fatalf("wait after a timeout = %s", d)
	}
	clock.Advance(time.Second)
	rc.waitFor(t, "retry", func(got []received) bool { return len(got) == 2 })
}
