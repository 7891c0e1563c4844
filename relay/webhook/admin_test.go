package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

func adminOptions(t *testing.T, e *testEnv, clock Clock, subs ...Subscriber) Options {
	o := e.options(t, clock, subs...)
	o.AdminTokens = []openqq.Secret{"other-token", "admin-secret"}
	return o
}

// A rejected event goes to the dead letters at once, the next one follows;
// the admin API lists it and replays it once the receiver is fixed.
func TestDeadLetterAndReplay(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	var fixed atomic.Bool
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		if rec.content() == "bad" && !fixed.Load() {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	d := start(t, adminOptions(t, e, newFakeClock(), Subscriber{URL: rc.URL}))
	h, id := d.AdminHandler(), ConfigID(rc.URL)
	ids := e.appendAll(t, friendMessage(11, "m0"), friendMessage(11, "bad"), friendMessage(11, "m2"))
	rc.waitContents(t, "m2")

	code, body := admin(t, h, "GET", "/webhook/subscribers/"+id+"/dead-letters", "")
	dls, _ := body["dead_letters"].([]any)
	if code != http.StatusOK || len(dls) != 1 {
		t.Fatalf("dead letters = %d %v", code, body)
	}
	dl := dls[0].(map[string]any)
	if dl["event_id"] != ids[1] || !strings.Contains(dl["reason"].(string), "HTTP 400") {
		t.Errorf("dead letter = %v", dl)
	}
	if p, _ := dl["payload"].(map[string]any); p["content"] != "bad" {
		t.Errorf("payload = %v", dl["payload"])
	}

	fixed.Store(true)
	if code, body := admin(t, h, "POST", "/webhook/subscribers/"+id+"/dead-letters/replay", ""); code != http.StatusAccepted || body["queued"] != 1.0 {
		t.Fatalf("replay = %d %v", code, body)
	}
	got := rc.waitFor(t, "the replay", func(got []received) bool { return len(got) == 4 })
	if got[3].content() != "bad" || got[3].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
		t.Errorf("replay = %s under %s, first try under %s", got[3].content(), got[3].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"))
	}
	eventually(t, "dead letters emptied", func() bool {
		_, body := admin(t, h, "GET", "/webhook/subscribers/"+id+"/dead-letters", "")
		dls, _ := body["dead_letters"].([]any)
		return len(dls) == 0
	})
}

// After the last attempt an event goes to the dead letters, and the next
// event goes on.
func TestRetriesExhausted(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		if rec.content() == "down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	o := adminOptions(t, e, clock, Subscriber{URL: rc.URL})
	o.Policy.Schedule = []time.Duration{0, time.Second}
	d := start(t, o)
	ids := e.appendAll(t, friendMessage(11, "down"), friendMessage(11, "ok"))
	if w := clock.nextSleep(t); w != time.Second {
		t.Fatalf("wait = %s", w)
	}
	clock.Advance(time.Second) // the second and last attempt
	got := rc.waitContents(t, "ok")
	if !slices.Equal(contents(got), []string{"down", "down", "ok"}) {
		t.Errorf("got %v", contents(got))
	}
	dls := deadLetters(t, d, ConfigID(rc.URL))
	if len(dls) != 1 || dls[0]["event_id"] != ids[0] || dls[0]["reason"] != "2 attempts failed, last: HTTP 503" {
		t.Errorf("dead letters = %v", dls)
	}
}

// An event is not attempted after its TTL: waiting past it sends the event
// to the dead letters.
func TestEventTTL(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, _ received, _ int) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	o := adminOptions(t, e, clock, Subscriber{URL: rc.URL})
	o.Policy.EventTTL = time.Hour
	d := start(t, o)
	ids := e.appendAll(t, friendMessage(11, "stale"))
	if w := clock.nextSleep(t); w != time.Second {
		t.Fatalf("wait = %s", w)
	}
	clock.Advance(2 * time.Hour)
	var dls []map[string]any
	eventually(t, "dead letter", func() bool { dls = deadLetters(t, d, ConfigID(rc.URL)); return len(dls) == 1 })
	if dls[0]["event_id"] != ids[0] || dls[0]["reason"] != "expired after 1 attempts, last: HTTP 503" {
		t.Errorf("dead letter = %v", dls[0])
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func deadLetters(t *testing.T, d *running, id string) []map[string]any {
	t.Helper()
	code, body := admin(t, d.AdminHandler(), "GET", "/webhook/subscribers/"+id+"/dead-letters?limit=10", "")
	if code != http.StatusOK {
		t.Fatalf("dead letters = %d %v", code, body)
	}
	raw, _ := body["dead_letters"].([]any)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	configured, added := newReceiver(t), newReceiver(t)
	d := start(t, adminOptions(t, e, newFakeClock(), Subscriber{URL: configured.URL, Reply: true}))
	h := d.AdminHandler()

	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/webhook/subscribers", nil),
		func() *http.Request {
			r := httptest.NewRequest("GET", "/webhook/subscribers", nil)
			r.Header.Set("Authorization", "Bearer wrong")
			return r
		}(),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("without a good token: %d", w.Code)
		}
	}
	for _, via := range []func(r *http.Request){
		func(r *http.Request) { r.Header.Set("X-Auth-Token", "other-token") },
		func(r *http.Request) { r.URL.RawQuery = "access_token=admin-secret" },
	} {
		r := httptest.NewRequest("GET", "/webhook/subscribers", nil)
		via(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Errorf("token ways: %d", w.Code)
		}
	}

	code, body := admin(t, h, "POST", "/webhook/subscribers", `{"url":"`+added.URL+`","post_event":false,"timeout":"3s"}`)
	if code != http.StatusCreated || body["source"] != SourceAPI || body["state"] != StateActive || body["timeout"] != "3s" {
		t.Fatalf("add = %d %v", code, body)
	}
	id := body["id"].(string)
	e.appendAll(t, eventPost(openqq.EventLogin, 1), friendMessage(11, "hello"))
	if got := added.waitContents(t, "hello"); !slices.Equal(contents(got), []string{"hello"}) {
		t.Errorf("added subscriber got %v", contents(got))
	}
	code, body = admin(t, h, "GET", "/webhook/subscribers", "")
	if subs, _ := body["subscribers"].([]any); code != http.StatusOK || len(subs) != 2 {
		t.Fatalf("list = %d %v", code, body)
	}
	code, body = admin(t, h, "GET", "/webhook/subscribers/"+ConfigID(configured.URL), "")
	if code != http.StatusOK || body["reply"] != true || body["source"] != SourceConfig || body["breaker"] != BreakerClosed {
		t.Errorf("get configured = %d %v", code, body)
	}

	// Pause: once this instance's worker is gone nothing goes out; resume
	// delivers what waited.
	if code, _ := admin(t, h, "POST", "/webhook/subscribers/"+id+"/pause", ""); code != http.StatusOK {
		t.Fatalf("pause = %d", code)
	}
	eventually(t, "worker stopped", func() bool { return d.worker(id) == nil })
	e.appendAll(t, friendMessage(11, "while paused"))
	configured.waitContents(t, "while paused")
	if slices.Contains(contents(added.requests()), "while paused") {
		t.Fatal("a paused subscriber received an event")
	}
	if code, _ := admin(t, h, "POST", "/webhook/subscribers/"+id+"/resume", ""); code != http.StatusOK {
		t.Fatalf("resume = %d", code)
	}
	added.waitContents(t, "while paused")

	if code, _ := admin(t, h, "DELETE", "/webhook/subscribers/"+ConfigID(configured.URL), ""); code != http.StatusConflict {
		t.Errorf("deleting a configured subscriber = %d", code)
	}
	if code, _ := admin(t, h, "DELETE", "/webhook/subscribers/"+id, ""); code != http.StatusOK {
		t.Errorf("delete = %d", code)
	}
	if code, _ := admin(t, h, "GET", "/webhook/subscribers/"+id, ""); code != http.StatusNotFound {
		t.Errorf("get deleted = %d", code)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/webhook/subscribers", ``},
		{"POST", "/webhook/subscribers", `{"url":"not a url"}`},
		{"POST", "/webhook/subscribers", `{"url":"http://x","unknown":1}`},
		{"POST", "/webhook/subscribers", `{"url":"http://x","start":"yesterday"}`},
		{"POST", "/webhook/subscribers", `{"url":"http://x","timeout":"1h"}`},
		{"GET", "/webhook/subscribers/" + ConfigID(configured.URL) + "/dead-letters?limit=0", ``},
		{"GET", "/webhook/subscribers/" + ConfigID(configured.URL) + "/dead-letters?after=x", ``},
		{"POST", "/webhook/subscribers/" + ConfigID(configured.URL) + "/dead-letters/replay", `{"ids":["x"]}`},
	} {
		if code, body := admin(t, h, c.method, c.path, c.body); code != http.StatusBadRequest || body["status"] == "" {
			t.Errorf("%s %s %s = %d %v", c.method, c.path, c.body, code, body)
		}
	}
	for _, p := range []string{"/webhook/subscribers/nope/pause", "/webhook/subscribers/nope/dead-letters/replay"} {
		if code, _ := admin(t, h, "POST", p, ""); code != http.StatusNotFound {
			t.Errorf("%s = %d", p, code)
		}
	}
}

// What one instance's admin API adds, every instance delivers to.
func TestAdminChangesReachOtherInstances(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	first := start(t, adminOptions(t, e, newFakeClock()))
	o := adminOptions(t, e, newFakeClock())
	o.Store = e.open(t)
	second := start(t, o)
	code, body := admin(t, first.AdminHandler(), "POST", "/webhook/subscribers", `{"url":"`+rc.URL+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("add = %d %v", code, body)
	}
	first.stop() // only the second instance is left to deliver
	e.appendAll(t, friendMessage(11, "via second"))
	rc.waitContents(t, "via second")
	if _, body := admin(t, second.AdminHandler(), "GET", "/webhook/subscribers/"+body["id"].(string), ""); body["url"] != rc.URL {
		t.Errorf("second instance sees %v", body)
	}
}

// A subscriber deleted through one instance stops on every instance, and
// none brings its consumer group back (which would replay the whole stream
// to it).
func TestDeleteStopsEveryInstance(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	first := start(t, adminOptions(t, e, newFakeClock()))
	o := adminOptions(t, e, newFakeClock())
	o.Store = e.open(t)
	second := start(t, o)
	code, body := admin(t, first.AdminHandler(), "POST", "/webhook/subscribers", `{"url":"`+rc.URL+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("add = %d %v", code, body)
	}
	id := body["id"].(string)
	eventually(t, "both instances run it", func() bool { return first.worker(id) != nil && second.worker(id) != nil })
	e.appendAll(t, friendMessage(11, "one"))
	rc.waitContents(t, "one")
	if code, _ := admin(t, first.AdminHandler(), "DELETE", "/webhook/subscribers/"+id, ""); code != http.StatusOK {
		t.Fatalf("delete = %d", code)
	}
	eventually(t, "both instances stopped it", func() bool { return first.worker(id) == nil && second.worker(id) == nil })
	e.appendAll(t, friendMessage(11, "two"))
	if _, err := e.db.ReadEventGroup(t.Context(), e.acct, "webhook:"+id, "probe", 1, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted subscriber's group came back: %v", err)
	}
}
