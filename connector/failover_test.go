package connector_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
	"github.com/openqq-relay/openqq/store"
)

// overlapWatch counts polls that start while another client's poll is in
// progress: two connectors driving one account.
type overlapWatch struct {
	mu       sync.Mutex
	overlaps int
}

func (e *env) watchOverlaps(t *testing.T, clients ...*fakeClient) *overlapWatch {
	w := &overlapWatch{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			n := 0
			for _, c := range clients {
				if e.srv.Polling(c) {
					n++
				}
			}
			if n > 1 {
				w.mu.Lock()
				w.overlaps++
				w.mu.Unlock()
			}
		}
	})
	t.Cleanup(func() { close(done); wg.Wait() })
	return w
}

func (w *overlapWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.overlaps
}

// Two connectors for one account make one session: the second stands by,
// takes over when the first can no longer renew its lease, and the first,
// back in touch, finds the lease gone and stands by in turn. Polling pauses
// before the lease can expire, so the two never poll at once.
func TestStandbyTakesOver(t *testing.T) {
	e := newEnv(t)
	ttl := func(o *connector.Options) { o.LeaseTTL = 3 * time.Second }
	f1 := &faultyDB{db: e.db}
	first := e.start(f1, ttl)
	e.waitState(openqq.StateScaning)
	e.srv.Scan()
	e.waitState(openqq.StateRunning)

	second := e.start(nil, ttl)
	watch := e.watchOverlaps(t, first.client, second.client)
	waitFor(t, "some polls by the first", func() bool { return e.srv.Polling(first.client) })
	if s := second.State(); s != openqq.StateInit {
		t.Errorf("standby is %s, want init", s)
	}
	if got := e.state().Owner; got != first.Owner() {
		t.Errorf("state owner = %s, want the first connector", got)
	}

	f1.Cut() // the first connector loses Redis (a partition, or a hang)
	waitFor(t, "the second to take over", func() bool {
		st := e.state()
		return st.Owner == second.Owner() && st.State == openqq.StateRunning
	})
	if logins := e.srv.Logins(); len(logins) != 2 || logins[1] {
		t.Errorf("logins = %v, want the takeover to reuse the cookies", logins)
	}
	f1.Restore()
	waitFor(t, "the first to stand by", func() bool { return first.State() == openqq.StateInit })
	if got := e.state().Owner; got != second.Owner() {
		t.Errorf("state record written by %s after the takeover, want the new owner only", got)
	}
	if e.srv.Polling(first.client) {
		t.Error("the first connector still polls after losing the lease")
	}
	if n := watch.count(); n > 0 {
		t.Errorf("both connectors polled at once (%d samples)", n)
	}
	if n := len(e.events(openqq.EventStop)); n != 0 {
		t.Errorf("%d stop events: a lost lease must not stop the account", n)
	}
	if e.state().State != openqq.StateRunning {
		t.Errorf("state = %s after the first came back", e.state().State)
	}
	if code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "102", "content": "x"}); code != 0 {
		t.Errorf("send through the new owner = %d", code)
	}
}

// While Redis is away the QQ session carries on: messages are kept in
// memory and written in order when Redis returns, even after the lease ran
// out; no QR code is needed; healthz says why it is unhealthy meanwhile.
func TestRedisOutage(t *testing.T) {
	e := newEnv(t)
	f := &faultyDB{db: e.db}
	h := e.start(f)
	e.waitState(openqq.StateScaning)
	e.srv.Scan()
	e.waitState(openqq.StateRunning)
	admin := httptest.NewServer(h.AdminHandler())
	t.Cleanup(admin.Close)
	if code, body := get(t, admin.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz while running = %d %s", code, body)
	}

	f.Cut()
	push := func(from, to int) {
		for i := from; i < to; i++ {
			e.srv.Push(openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: openqq.ID(i), SenderID: 101, Content: "m"})
		}
	}
	push(1, 4)
	code, body := get(t, admin.URL+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "redis unreachable") {
		t.Errorf("healthz during the outage = %d %s", code, body)
	}
	// Out for longer than the lease: nobody else wants it, so it is taken again.
	waitFor(t, "the lease to expire", func() bool {
		owner, _, err := e.db.LeaseHolder(t.Context(), e.acct)
		return err == nil && owner == ""
	})
	push(4, 7)
	f.Restore()

	waitFor(t, "every message written", func() bool { return len(messageIDs(e.posts())) >= 6 })
	if got := messageIDs(e.posts()); !reflect.DeepEqual(got, []openqq.ID{1, 2, 3, 4, 5, 6}) {
		t.Errorf("messages = %v, want 1…6 once each, in order", got)
	}
	if n := e.srv.QRCodes(); n != 1 {
		t.Errorf("%d QR codes, want 1", n)
	}
	if code, _ := e.submit(openqq.APISendGroupMessage, map[string]string{"id": "201", "content": "back"}); code != 0 {
		t.Errorf("send after the outage = %d", code)
	}
	if code, body := get(t, admin.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz after the outage = %d %s", code, body)
	}
	_, metrics := get(t, admin.URL+"/metrics")
	for _, want := range []string{
		`openqq_connector_lease_held{account="` + e.acct + `"} 1`,
		`openqq_connector_state{account="` + e.acct + `",state="running"} 1`,
		`openqq_connector_commands_total{account="` + e.acct + `",api="send_group_message",code="0"} 1`,
		`openqq_connector_sends_total{account="` + e.acct + `",code="0"} 1`,
		`openqq_connector_events_appended_total{account="` + e.acct + `"}`,
		`openqq_connector_redis_errors_total{account="` + e.acct + `"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func messageIDs(posts []openqq.Post) []openqq.ID {
	var ids []openqq.ID
	for _, p := range posts {
		if p.Message != nil && p.Message.Class == openqq.ClassRecv {
			ids = append(ids, p.Message.ID)
		}
	}
	return ids
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deadConnector reads the next command as a connector that then dies: a
// command read is a command started.
func (e *env) deadConnector() store.Delivery {
	e.t.Helper()
	var ds []store.Delivery
	waitFor(e.t, "a queued command", func() bool {
		var err error
		ds, err = e.db.Consume(e.t.Context(), e.acct, "dead-connector", 1, 100*time.Millisecond)
		if err != nil {
			e.t.Fatal(err)
		}
		return len(ds) == 1
	})
	return ds[0]
}

// submitAsync submits a command in the background.
func (e *env) submitAsync(api string, params map[string]string, deadline time.Duration) <-chan submitted {
	ch := make(chan submitted, 1)
	go func() {
		res, err := e.db.Submit(e.t.Context(), e.acct, &openqq.Command{API: api, Params: params, Deadline: time.Now().Add(deadline)})
		ch <- submitted{res, err}
	}()
	return ch
}

type submitted struct {
	res openqq.Result
	err error
}

// A command queued when its connector died, before any connector read it,
// runs once: on the next connector, and never again after that one.
func TestCrashBeforeStartRunsOnce(t *testing.T) {
	e := newEnv(t)
	if err := e.startRunning().stop(); err != nil {
		t.Fatal(err)
	}
	done := e.submitAsync(openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "once"}, 30*time.Second)
	h := e.start(nil)
	e.waitState(openqq.StateRunning)
	if s := <-done; s.err != nil || s.res.Code != 0 {
		t.Fatalf("answer = %+v", s)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	e.start(nil) // another restart must not run it again
	e.waitState(openqq.StateRunning)
	if code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "102", "content": "later"}); code != 0 {
		t.Fatal(code)
	}
	var contents []string
	for _, o := range e.srv.Sent() {
		contents = append(contents, o.Content)
	}
	if !reflect.DeepEqual(contents, []string{"once", "later"}) {
		t.Errorf("sent %v, want once then later", contents)
	}
}

// A command that had started when its connector died is never run again;
// its caller hears "outcome unknown".
func TestCrashAfterStartNeverRunsTwice(t *testing.T) {
	e := newEnv(t)
	done := e.submitAsync(openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "maybe"}, 30*time.Second)
	e.deadConnector()
	e.startRunning()
	s := <-done
	if s.err == nil && s.res.Code != openqq.ErrOutcomeUnknown.Code && !errors.Is(s.err, openqq.ErrOutcomeUnknown) {
		t.Errorf("answer = %+v, want outcome unknown", s)
	}
	if s.err == nil {
		var body map[string]any
		_ = json.Unmarshal(s.res.Body, &body)
		if body["status"] != openqq.ErrOutcomeUnknown.Status {
			t.Errorf("body = %s", s.res.Body)
		}
	}
	if code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "102", "content": "next"}); code != 0 {
		t.Fatal(code)
	}
	if got := e.srv.Sent(); len(got) != 1 || got[0].Content != "next" {
		t.Errorf("sent %v, want only the next command", got)
	}
}

// A command whose deadline passed before any connector ran it never runs.
func TestPastDeadlineNeverRuns(t *testing.T) {
	e := newEnv(t)
	done := e.submitAsync(openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "too late"}, 300*time.Millisecond)
	if s := <-done; !errors.Is(s.err, openqq.ErrTimeout) {
		t.Fatalf("submit without a connector = %+v, want ErrTimeout", s)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	if err := e.db.Enqueue(t.Context(), e.acct, &openqq.Command{API: openqq.APISendGroupMessage,
		Params: map[string]string{"id": "201", "content": "too late async"}, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deadline to pass", func() bool { return time.Now().After(deadline) })
	e.startRunning()
	if code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "102", "content": "in time"}); code != 0 {
		t.Fatal(code)
	}
	if got := e.srv.Sent(); len(got) != 1 || got[0].Content != "in time" {
		t.Errorf("sent %v, want only the command in time", got)
	}
	ds, err := e.db.Reclaim(t.Context(), e.acct, "probe", 0)
	if err != nil || len(ds) != 0 {
		t.Errorf("pending after the expired commands: %v, %v (want them acknowledged)", ds, err)
	}
}
