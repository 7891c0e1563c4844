package main

// Full-stack tests of what comes in: check_event (one poller, ten, cursor
// reads), post_api webhooks and their replies, poll_api, and the metrics of
// every part.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/connector/sandbox"
)

// incoming is one message to inject, and how check_event must show it.
type incoming struct {
	msg  sandbox.Message
	kind string // the post's type
}

// incomings returns n messages with texts prefix-00…, from a friend, a
// group member and a discussion member in turn.
func incomings(w stackWorld, prefix string, n int) []incoming {
	gm := w.members(w.attend, "member")[0]
	dm := w.otherDiscussMember()
	out := make([]incoming, n)
	for i := range out {
		text := fmt.Sprintf("%s-%02d", prefix, i)
		switch i % 3 {
		case 0:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageFriend, From: w.friend.ID, Text: text}, "friend_message"}
		case 1:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageGroup, From: gm.ID, Group: w.attend.ID, Text: text}, "group_message"}
		default:
			out[i] = incoming{sandbox.Message{Type: sandbox.MessageDiscuss, From: dm.ID, Discuss: w.discuss.ID, Text: text}, "discuss_message"}
		}
	}
	return out
}

func pushAll(t testing.TB, sb *sandbox.Server, in []incoming) {
	t.Helper()
	for _, m := range in {
		if _, err := sb.Push(m.msg); err != nil {
			t.Fatalf("push %+v: %v", m.msg, err)
		}
	}
}

// tally counts the received messages whose content starts with prefix in
// check_event answers, and every item that is not an object ([null]).
type tally struct {
	prefix string
	mu     sync.Mutex // guards the fields below
	seen   map[string]int
	posts  map[string]map[string]any // by content
	bad    []string
}

func newTally(prefix string) *tally {
	return &tally{prefix: prefix, seen: map[string]int{}, posts: map[string]map[string]any{}}
}

func (c *tally) add(body []byte) {
	var items []any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	err := d.Decode(&items)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.bad = append(c.bad, string(body))
		return
	}
	for _, it := range items {
		p, ok := it.(map[string]any)
		if !ok {
			c.bad = append(c.bad, string(body))
			continue
		}
		if content, _ := p["content"].(string); p["post_type"] == "receive_message" && strings.HasPrefix(content, c.prefix) {
			c.seen[content]++
			c.posts[content] = p
		}
	}
}

func (c *tally) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// check fails unless every message of in was seen exactly once, as its
// type, and no answer held a null or a non-object.
func (c *tally) check(t testing.TB, in []incoming) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bad {
		t.Errorf("check_event answered %s", b)
	}
	for _, m := range in {
		if n := c.seen[m.msg.Text]; n != 1 {
			t.Errorf("%q delivered %d times", m.msg.Text, n)
		} else if p := c.posts[m.msg.Text]; p["type"] != m.kind || p["class"] != "recv" {
			t.Errorf("%q came as %v/%v, want %s", m.msg.Text, p["type"], p["class"], m.kind)
		}
	}
}

func testCheckEventOne(t *testing.T, ts *testStack, w stackWorld) {
	in := incomings(w, "one", 6)
	pushAll(t, ts.sandbox, in)
	c := newTally("one-")
	eventually(t, "every message through check_event", func() bool {
		a := ts.get(t, "/openqq/check_event")
		if a.status != http.StatusOK {
			t.Fatalf("check_event: HTTP %d: %s", a.status, a.body)
		}
		c.add(a.body)
		return c.count() == len(in)
	})
	c.check(t, in)
	for _, m := range in[:3] {
		p := c.posts[m.msg.Text]
		checkIDTypes(t, m.kind, p)
		checkGolden(t, "check_event_"+m.kind, p)
	}
}

// testCheckEventTen polls with ten clients at once: every message goes to
// exactly one of them, and none is answered [null] ([GO] spec §7.3).
func testCheckEventTen(t *testing.T, ts *testStack, w stackWorld) {
	in := incomings(w, "ten", 45)
	c := newTally("ten-")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for ctx.Err() == nil {
				a, err := ts.fetch(ctx, http.MethodGet, "/openqq/check_event", "", nil, nil)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					t.Errorf("poller: %v", err)
					return
				case a.status != http.StatusOK:
					t.Errorf("poller: HTTP %d: %s", a.status, a.body)
					return
				default:
					c.add(a.body)
				}
			}
		})
	}
	pushAll(t, ts.sandbox, in[:15])
	eventually(t, "the first batch", func() bool { return c.count() >= 15 })
	pushAll(t, ts.sandbox, in[15:])
	eventually(t, "every message through the pollers", func() bool { return c.count() == len(in) })
	cancel()
	wg.Wait()
	c.check(t, in)
}

// testCheckEventCursor reads the events stream with two cursors: each sees
// every event, in order.
func testCheckEventCursor(t *testing.T, ts *testStack, w stackWorld) {
	cursor := "0"
	for { // catch up with the stream; an empty read means the end
		a := ts.get(t, "/openqq/check_event?cursor="+cursor+"&count=1000")
		next := a.header.Get("X-Openqq-Cursor")
		if a.status != http.StatusOK || next == "" {
			t.Fatalf("cursor read: HTTP %d, cursor %q: %s", a.status, next, a.body)
		}
		if len(a.array(t)) == 0 {
			break
		}
		cursor = next
	}
	in := incomings(w, "cursor", 3)
	pushAll(t, ts.sandbox, in)
	for reader := range 2 {
		c, at, order := newTally("cursor-"), cursor, []string{}
		eventually(t, fmt.Sprintf("reader %d to see the messages", reader), func() bool {
			a := ts.get(t, "/openqq/check_event?cursor="+url.QueryEscape(at))
			c.add(a.body)
			for _, it := range a.array(t) {
				if p, _ := it.(map[string]any); p != nil && strings.HasPrefix(fmt.Sprint(p["content"]), "cursor-") {
					order = append(order, p["content"].(string))
				}
			}
			at = a.header.Get("X-Openqq-Cursor")
			return c.count() == len(in)
		})
		c.check(t, in)
		if !slices.IsSorted(order) {
			t.Errorf("reader %d saw %v, out of order", reader, order)
		}
	}
}

// webhookReceiver is a post_api subscriber on loopback: it keeps every
// post and answers "ping-x" messages with {"reply":"pong-x"}.
type webhookReceiver struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex // guards posts and ids
	posts []map[string]any
	ids   []string // webhook-id headers
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p map[string]any
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts = append(r.posts, p)
		r.ids = append(r.ids, req.Header.Get("Webhook-Id"))
		r.mu.Unlock()
		if content, _ := p["content"].(string); p["post_type"] == "receive_message" && strings.HasPrefix(content, "ping-") {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"reply": "pong-" + strings.TrimPrefix(content, "ping-")})
		}
	}))
	return r
}

func (r *webhookReceiver) URL() string { return r.url }

// events counts the event posts named name.
func (r *webhookReceiver) events(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.posts {
		if p["post_type"] == "event" && p["event"] == name {
			n++
		}
	}
	return n
}

func (r *webhookReceiver) message(content string) (map[string]any, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.posts {
		if p["content"] == content {
			return p, r.ids[i]
		}
	}
	return nil, ""
}

func testPostAPI(t *testing.T, ts *testStack, w stackWorld, hooks *webhookReceiver) {
	eventually(t, "the login event at post_api", func() bool { return hooks.events("login") > 0 })
	if _, err := ts.sandbox.Push(sandbox.Message{Type: sandbox.MessageFriend, From: w.friend2.ID, Text: "ping-1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the webhook's reply in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, "pong-1"); return ok })
	checkSent(t, ts.sandbox, "pong-1", sendCase{typ: "friend", to: w.friend2.ID})
	p, hookID := hooks.message("ping-1")
	if p["post_type"] != "receive_message" || p["sender_id"] != decimal(w.friend2.ID) || hookID == "" {
		t.Errorf("post_api got %v (webhook-id %q)", p, hookID)
	}
}

// pollServer is a poll_api server: it holds each heartbeat briefly, or
// answers it with a redirect queued by the test.
type pollServer struct {
	url       string
	redirects chan string
}

func newPollServer(t *testing.T) *pollServer {
	p := &pollServer{redirects: make(chan string, 1)}
	p.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case loc := <-p.redirects:
			http.Redirect(w, r, loc, http.StatusFound)
		case <-time.After(200 * time.Millisecond): // a short long poll
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	return p
}

func (p *pollServer) URL() string { return p.url }

// testPollAPI: a heartbeat answered 302 to /openqq/<api> runs that call.
func testPollAPI(t *testing.T, ts *testStack, w stackWorld, poll *pollServer) {
	// Any host: the call goes over the command bus, not to that address.
	poll.redirects <- "http://127.0.0.1:5000/openqq/send_friend_message?id=" + decimal(w.friend.ID) + "&content=poll-api-1"
	eventually(t, "the poll_api send in the sandbox", func() bool { _, ok := sentWith(ts.sandbox, "poll-api-1"); return ok })
	checkSent(t, ts.sandbox, "poll-api-1", sendCase{typ: "friend", to: w.friend.ID})
}

// checkMetrics: the relay's /metrics shows the series of every part of the
// stack on one registry: the connector's, the relay's own and, with
// post_api and poll_api configured, the dispatcher's and the heartbeat's.
func checkMetrics(t *testing.T, ts *testStack, webhooks bool) {
	t.Helper()
	acct := `account="` + ts.acct + `"`
	type series struct {
		name   string
		labels []string
	}
	want := []series{
		{"openqq_connector_state", []string{acct, `state="running"} 1`}},
		{"openqq_relay_requests_total", []string{`route="get_friend_info"`, `status="200"`}},
		{"go_goroutines", nil},
	}
	hooks := []series{
		{"openqq_webhook_attempts_total", []string{acct, `outcome="delivered"`}},
		{"openqq_heartbeat_polls_total", []string{acct}},
	}
	if webhooks {
		want = append(want, hooks...)
	}
	ts.get(t, "/openqq/get_friend_info")
	var body string
	eventually(t, "every part's series on /metrics", func() bool {
		a := ts.get(t, "/metrics")
		if a.status != http.StatusOK {
			t.Fatalf("/metrics: HTTP %d %s", a.status, a.body)
		}
		body = string(a.body)
		for _, s := range want {
			if !hasSeries(body, s.name, s.labels...) {
				return false
			}
		}
		return true
	})
	if !webhooks {
		for _, s := range hooks {
			if hasSeries(body, s.name) {
				t.Errorf("/metrics shows %s without post_api or poll_api configured", s.name)
			}
		}
	}
}

// hasSeries reports whether a Prometheus text exposition has a sample of
// name whose line holds every one of labels.
func hasSeries(exposition, name string, labels ...string) bool {
	for line := range strings.Lines(exposition) {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			return true
		}
	}
	return false
}
