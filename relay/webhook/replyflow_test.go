package webhook

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

// replyWith makes a receiver answer every message with body as JSON.
func replyWith(rc *receiver, body func(rec received) string) {
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, body(rec))
	})
}

func wantCommand(t *testing.T, got openqq.Command, api string, params map[string]string) {
	t.Helper()
	if got.API != api || !maps.Equal(got.Params, params) {
		t.Errorf("command = %s %v, want %s %v", got.API, got.Params, api, params)
	}
	if !got.Async || got.Deadline.IsZero() || got.ID == "" {
		t.Errorf("command %s: async %v, deadline %v, id %q", got.API, got.Async, got.Deadline, got.ID)
	}
}

// A reply and a shutup from the reply-capable subscriber become commands on
// the bus; the same answers from a subscriber that may not reply do nothing.
func TestReplyAndShutupBecomeCommands(t *testing.T) {
	e := newEnv(t)
	replier, other := newReceiver(t), newReceiver(t)
	answer := func(rec received) string {
		if rec.content() == "spam" {
			return `{"reply":"no spam","shutup":1,"shutup_time":120}`
		}
		return `{"reply":"pong: ` + rec.content() + `"}`
	}
	replyWith(replier, answer)
	replyWith(other, answer)
	start(t, e.options(t, newFakeClock(), Subscriber{URL: replier.URL, Reply: true}, Subscriber{URL: other.URL}))
	ids := e.appendAll(t, friendMessage(11, "ping"), groupMessage(22, 33, "spam"), groupMessage(22, 33, "mute me"))

	cmds := e.commands(t, 4)
	wantCommand(t, cmds[0], openqq.APISendFriendMessage, map[string]string{"id": "11", "content": "pong: ping"})
	wantCommand(t, cmds[1], openqq.APISendGroupMessage, map[string]string{"id": "22", "content": "no spam"})
	wantCommand(t, cmds[2], openqq.APIShutupGroupMember, map[string]string{"group_id": "22", "member_id": "33", "seconds": "120"})
	wantCommand(t, cmds[3], openqq.APISendGroupMessage, map[string]string{"id": "22", "content": "pong: mute me"})
	if cmds[0].ID != commandID(e.acct, ids[0], 0) {
		t.Errorf("command id %q is not derived from the event", cmds[0].ID)
	}
	// The other subscriber answered all three before its last delivery was
	// acknowledged; none of its answers may have reached the bus.
	other.waitContents(t, "mute me")
	e.appendAll(t, friendMessage(12, "marker"))
	if more := e.commands(t, 1); more[0].Params["content"] != "pong: marker" {
		t.Errorf("a subscriber without reply rights queued %+v", more[0])
	}
}

// With two reply-capable subscribers the first claim wins: one reply.
func TestFirstReplyWins(t *testing.T) {
	e := newEnv(t)
	a, b := newReceiver(t), newReceiver(t)
	replyWith(a, func(received) string { return `{"reply":"from a"}` })
	replyWith(b, func(received) string { return `{"reply":"from b"}` })
	start(t, e.options(t, newFakeClock(), Subscriber{URL: a.URL, Reply: true}, Subscriber{URL: b.URL, Reply: true}))
	e.appendAll(t, friendMessage(11, "once"), friendMessage(12, "marker"))
	// Both workers handled "once" (reply included) before they posted the
	// marker; after that, the bus holds exactly one reply per event.
	a.waitContents(t, "marker")
	b.waitContents(t, "marker")
	cmds := e.commands(t, 2)
	if cmds[0].Params["id"] == cmds[1].Params["id"] {
		t.Errorf("two replies to one event: %+v", cmds)
	}
	ds, err := e.db.Consume(t.Context(), e.acct, "test-connector", 10, 0)
	if err != nil || len(ds) != 0 {
		t.Errorf("a second reply went out: %+v %v", ds, err)
	}
}

// fakeConnector answers send commands as the connector does: the message
// it sends comes back on the events stream as a send_message report.
func fakeConnector(t *testing.T, e *testEnv, limit int) <-chan openqq.Command {
	out := make(chan openqq.Command, limit)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		defer close(out)
		for n := 0; n < limit && ctx.Err() == nil; {
			ds, err := e.db.Consume(ctx, e.acct, "fake-connector", 1, 500*time.Millisecond)
			if err != nil {
				return
			}
			for _, d := range ds {
				n++
				out <- d.Command
				id, _ := openqq.ParseID(d.Command.Params["id"])
				if _, err := e.db.AppendEvent(ctx, e.acct, sentFriendMessage(id, d.Command.Params["content"])); err != nil {
					return
				}
			}
		}
	})
	return out
}

// The loop guard: a receiver that always replies, replies to its own sent
// messages too; those replies act only with ReplyToSent (issue #237).
func TestLoopGuard(t *testing.T) {
	for _, replyToSent := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[replyToSent], func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t)
			replyWith(rc, func(received) string { return `{"reply":"again"}` })
			o := e.options(t, newFakeClock(), Subscriber{URL: rc.URL, Reply: true})
			o.ReplyToSent = replyToSent
			start(t, o)
			cmds := fakeConnector(t, e, 4)
			e.appendAll(t, friendMessage(11, "hello"))
			first := <-cmds
			wantCommand(t, first, openqq.APISendFriendMessage, map[string]string{"id": "11", "content": "again"})
			if replyToSent {
				// The report of the sent reply is replied to: it loops.
				for range 3 {
					if c := <-cmds; c.Params["id"] != "11" || c.Params["content"] != "again" {
						t.Fatalf("loop command = %+v", c)
					}
				}
				return
			}
			// The report was posted (and answered) before the marker; the
			// next command is the marker's reply, not a loop.
			rc.waitContents(t, "again")
			e.appendAll(t, friendMessage(99, "marker"))
			if c := <-cmds; c.Params["id"] != "99" {
				t.Errorf("loop guard failed: %+v", c)
			}
		})
	}
}

// A reply to a message older than ReplyMaxAge is dropped (a subscriber
// coming back after an outage does not answer a backlog).
func TestReplyToOldMessageDropped(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	rc := newReceiver(t)
	replyWith(rc, func(rec received) string { return `{"reply":"late ` + rec.content() + `"}` })
	o := e.options(t, clock, Subscriber{URL: rc.URL, Reply: true})
	o.ReplyMaxAge = time.Minute
	start(t, o)
	clock.Advance(2 * time.Minute)
	// The login event is posted after the reply to "old" was handled.
	e.appendAll(t, friendMessage(11, "old"), eventPost(openqq.EventLogin, 0))
	rc.waitContents(t, "event:login")
	clock.Advance(-2 * time.Minute)
	e.appendAll(t, friendMessage(11, "fresh"))
	if c := e.commands(t, 1); c[0].Params["content"] != "late fresh" {
		t.Errorf("command = %+v", c[0])
	}
}

// Answers that are not JSON, not 2xx or empty do nothing.
func TestNonJSONAnswersIgnored(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	rc.setRespond(func(w http.ResponseWriter, r *http.Request, rec received, _ int) {
		switch rec.content() {
		case "text":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, `{"reply":"no"}`)
		case "empty":
			w.Header().Set("Content-Type", "application/json")
		case "garbage":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"reply":`)
		case "nocontent":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "text/json")
			json.NewEncoder(w).Encode(map[string]string{"reply": "yes " + rec.content()})
		}
	})
	start(t, e.options(t, newFakeClock(), Subscriber{URL: rc.URL, Reply: true}))
	e.appendAll(t, friendMessage(11, "text"), friendMessage(11, "empty"), friendMessage(11, "garbage"),
		friendMessage(11, "nocontent"), eventPost(openqq.EventLogin, 1), friendMessage(11, "json"))
	if c := e.commands(t, 1); c[0].Params["content"] != "yes json" {
		t.Errorf("first command = %+v", c[0])
	}
}
