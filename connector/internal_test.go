package connector

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

func strp(s string) *string { return &s }

func base() *openqq.Contacts {
	return &openqq.Contacts{
		Friends: []openqq.Friend{{ID: 1, Name: "a", State: "online"}, {ID: 2, Name: "b"}},
		Groups: []openqq.Group{
			{ID: 10, Name: "g", Members: []openqq.Member{{ID: 1, Name: "a"}, {ID: 3, Name: "c"}}},
			{ID: 11, Name: "h"}, // members not loaded
		},
		Discusses: []openqq.Discuss{{ID: 20, Name: "d", Members: []openqq.DiscussMember{{ID: 1, Name: "a"}}}},
	}
}

var diffCases = []struct {
	description string
	edit        func(c *openqq.Contacts)
	want        []string // event names, with the changed property for property events
}{
	{"no change", func(*openqq.Contacts) {}, nil},
	{"friend gone and new", func(c *openqq.Contacts) {
		c.Friends = []openqq.Friend{c.Friends[1], {ID: 5, Name: "e"}}
	}, []string{"lose_friend", "new_friend"}},
	{"friend markname set", func(c *openqq.Contacts) { c.Friends[0].Markname = strp("A") },
		[]string{"friend_property_change markname"}},
	{"friend renamed and offline", func(c *openqq.Contacts) { c.Friends[1].Name, c.Friends[1].State = "B", "offline" },
		[]string{"friend_property_change name", "friend_property_change state"}},
	{"group memo and member card", func(c *openqq.Contacts) {
		c.Groups[0].Memo = "m"
		c.Groups[0].Members[1].Card = strp("card")
	}, []string{"group_property_change memo", "group_member_property_change card"}},
	{"members not loaded on one side are not compared", func(c *openqq.Contacts) {
		c.Groups[0].Members = nil
		c.Groups[1].Members = []openqq.Member{{ID: 7}}
	}, nil},
	{"member joins and leaves", func(c *openqq.Contacts) {
		c.Groups[0].Members = []openqq.Member{{ID: 1, Name: "a"}, {ID: 4, Name: "new"}}
	}, []string{"lose_group_member", "new_group_member"}},
	{"group gone and new", func(c *openqq.Contacts) {
		c.Groups = []openqq.Group{c.Groups[0], {ID: 12, Name: "n"}}
	}, []string{"lose_group", "new_group"}},
	{"discussion members", func(c *openqq.Contacts) {
		c.Discusses[0].Members = []openqq.DiscussMember{{ID: 9, Name: "z"}}
		c.Discusses[0].Name = "renamed" // discussion property changes were never posted
	}, []string{"lose_discuss_member", "new_discuss_member"}},
	{"discussion gone", func(c *openqq.Contacts) { c.Discusses = nil }, []string{"lose_discuss"}},
}

func TestDiffContacts(t *testing.T) {
	for _, c := range diffCases {
		t.Run(c.description, func(t *testing.T) {
			old, cur := base(), base()
			c.edit(cur)
			var got []string
			for _, p := range diffContacts(old, cur) {
				name := p.Event.Name
				if strings.HasSuffix(name, "_property_change") {
					name += " " + p.Event.Params[1].(string)
				}
				got = append(got, name)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("events = %v, want %v", got, c.want)
			}
		})
	}
}

// The params of each kind of event have the original's shapes (spec §8.2).
func TestDiffParams(t *testing.T) {
	old, cur := base(), base()
	cur.Groups[0].Members = append(cur.Groups[0].Members, openqq.Member{ID: 4, Name: "new"})
	cur.Discusses[0].Members = append(cur.Discusses[0].Members, openqq.DiscussMember{ID: 9})
	cur.Friends[0].Markname = strp("A")
	posts := diffContacts(old, cur)
	b, err := json.Marshal(posts)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Event  string            `json:"event"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, ev := range got {
		switch ev.Event {
		case openqq.EventFriendPropertyChange:
			if len(ev.Params) != 4 || string(ev.Params[2]) != "null" || string(ev.Params[3]) != `"A"` {
				t.Errorf("%s params = %s", ev.Event, b)
			}
		case openqq.EventNewGroupMember:
			var g openqq.Group
			if len(ev.Params) != 2 || json.Unmarshal(ev.Params[1], &g) != nil || len(g.Members) != 3 {
				t.Errorf("%s params = %s", ev.Event, b)
			}
		case openqq.EventNewDiscussMember:
			if len(ev.Params) != 1 {
				t.Errorf("%s params = %s", ev.Event, b)
			}
		default:
			t.Errorf("unexpected event %s", ev.Event)
		}
	}
}

func TestRouter(t *testing.T) {
	msg := func(typ string) openqq.Post {
		return openqq.NewMessagePost(&openqq.Message{Type: typ, Class: openqq.ClassRecv})
	}
	ev := func(name string) openqq.Post { return openqq.NewEventPost(name) }
	all := []string{openqq.EventLogin, openqq.EventStop, openqq.EventStateChange, openqq.EventInputQRCode,
		openqq.EventNewFriend, openqq.EventUserPropertyChange, openqq.EventNewDiscussMember, openqq.EventDiscussPropertyChange}
	cases := []struct {
		r    router
		post openqq.Post
		want bool
	}{
		{newRouter(false, nil), msg(openqq.FriendMessage), true},
		{newRouter(false, nil), msg(openqq.SessMessage), true},
		{newRouter(true, all), msg("system_message"), false},
		{newRouter(true, openqq.DefaultPostEventList), ev(openqq.EventNewFriend), true},
		{newRouter(false, openqq.DefaultPostEventList), ev(openqq.EventNewFriend), false},
		{newRouter(true, openqq.DefaultPostEventList), ev(openqq.EventNewDiscuss), false},
		{newRouter(true, all), ev(openqq.EventNewDiscussMember), true},
		{newRouter(true, all), ev(openqq.EventUserPropertyChange), true},
		{newRouter(true, all), ev(openqq.EventDiscussPropertyChange), false},
		{newRouter(true, all), ev(openqq.EventLogin), false},
		{newRouter(true, all), ev(openqq.EventStop), false},
		{newRouter(true, all), ev(openqq.EventStateChange), false},
		{newRouter(true, all), ev(openqq.EventInputQRCode), false},
	}
	for _, c := range cases {
		if got := c.r.checkEvent(c.post); got != c.want {
			t.Errorf("checkEvent(%s) with %v = %v, want %v", c.post.Name(), c.r.list, got, c.want)
		}
	}
}

// mimeBase64 matches Perl's encode_base64: 76-character lines, each ending
// in a newline.
func TestMIMEBase64(t *testing.T) {
	for _, n := range []int{0, 1, 56, 57, 58, 114, 1000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		s := mimeBase64(b)
		if n == 0 {
			if s != "" {
				t.Errorf("empty input gives %q", s)
			}
			continue
		}
		if !strings.HasSuffix(s, "\n") {
			t.Errorf("%d bytes: no final newline", n)
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		for i, l := range lines {
			if len(l) > 76 || (i < len(lines)-1 && len(l) != 76) {
				t.Errorf("%d bytes: line %d has %d chars", n, i, len(l))
			}
		}
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", ""))
		if err != nil || string(dec) != string(b) {
			t.Errorf("%d bytes: does not round-trip (%v)", n, err)
		}
	}
}

func TestShutupDuration(t *testing.T) {
	cases := []struct {
		p    params
		want time.Duration
		ok   bool
	}{
		{params{"time": "2"}, 2 * time.Minute, true},
		{params{"time": "0"}, 0, true},
		{params{"seconds": "90"}, 90 * time.Second, true},
		{params{"time": "1", "seconds": "90"}, time.Minute, true},
		{params{}, 0, false},
		{params{"time": ""}, 0, false},
		{params{"time": "-1"}, 0, false},
		{params{"time": "1.5"}, 0, false},
		{params{"time": " 1"}, 0, false},
		{params{"time": "99999999999999999999999"}, 0, false},
		{params{"time": "9999999999"}, 0, false},
	}
	for _, c := range cases {
		got, err := shutupDuration(c.p)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("shutupDuration(%v) = %v, %v; want %v, ok %v", c.p, got, err, c.want, c.ok)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func noRetry(ctx context.Context, _ string, fn func(context.Context) error) error { return fn(ctx) }

// The outbox keeps order, lets a newer write of a key replace a pending
// one, bounds the events it keeps, and flush waits for what was queued.
func TestOutbox(t *testing.T) {
	dropped := 0
	o := newOutbox(quietLog(), 3, noRetry, nil, func() { dropped++ })
	var got []string
	rec := func(s string) func(context.Context) error {
		return func(context.Context) error { got = append(got, s); return nil }
	}
	o.add(write{event: true, op: "e1", fn: rec("e1")})
	o.add(write{key: "state", op: "s1", fn: rec("s1")})
	o.add(write{event: true, op: "e2", fn: rec("e2")})
	o.add(write{key: "state", op: "s2", fn: rec("s2")})
	o.add(write{event: true, op: "e3", fn: rec("e3")})
	o.add(write{event: true, op: "e4", fn: rec("e4")}) // over the bound: e1 goes
	if dropped != 1 {
		t.Errorf("dropped %d events, want 1", dropped)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { o.run(ctx); close(done) }()
	if err := o.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if want := []string{"e2", "s2", "e3", "e4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	o.add(write{op: "late", fn: rec("late")})
	if o.pending() != 0 {
		t.Error("a closed outbox kept a write")
	}
}

// flush waits for a replaced write too: the replacement carries its data.
func TestOutboxFlushWaitsForReplacement(t *testing.T) {
	release := make(chan struct{})
	o := newOutbox(quietLog(), 10, noRetry, nil, func() {})
	o.add(write{op: "slow", fn: func(context.Context) error { <-release; return nil }})
	o.add(write{key: "k", op: "k1", fn: func(context.Context) error { return nil }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { o.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	flushed := make(chan error, 1)
	go func() { flushed <- o.flush(t.Context()) }()
	o.add(write{key: "k", op: "k2", fn: func(context.Context) error { return nil }})
	short, stop := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer stop()
	if err := o.flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("flush with a write in progress = %v, want a timeout", err)
	}
	close(release)
	if err := <-flushed; err != nil {
		t.Error(err)
	}
}

// Consecutive posts and answers reach Redis in one publish call, in order;
// another write between them splits the batch; flush waits for a batch in
// flight; each answer hears that it was written, or that the session ended
// before it was.
func TestOutboxBatchesPostsAndAnswers(t *testing.T) {
	var (
		mu      sync.Mutex
		applied [][]string
	)
	release := make(chan struct{})
	publish := func(_ context.Context, posts []store.Publication, answers []store.Answer) error {
		var batch []string
		for _, p := range posts {
			batch = append(batch, string(p.Post))
		}
		for _, a := range answers {
			batch = append(batch, a.Delivery.Command.ID)
		}
		if batch[0] == "p1" {
			<-release // the first batch is in flight while the rest queue up
		}
		mu.Lock()
		applied = append(applied, batch)
		mu.Unlock()
		return nil
	}
	o := newOutbox(quietLog(), 100, noRetry, publish, func() {})
	post := func(s string) write {
		return write{event: true, op: "publish", post: &store.Publication{Post: []byte(s)}}
	}
	heard := map[string]chan error{}
	answer := func(id string) write {
		ch := make(chan error, 1)
		heard[id] = ch
		return write{op: "reply", answer: &store.Answer{Delivery: store.Delivery{Command: openqq.Command{ID: id}}},
			after: func(err error) { ch <- err }}
	}
	o.add(post("p1"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { o.run(ctx); close(done) }()
	for inFlight := false; !inFlight; time.Sleep(time.Millisecond) {
		o.mu.Lock()
		inFlight = o.busy && len(o.ops) == 0
		o.mu.Unlock()
	}

	o.add(post("p2"))
	o.add(answer("a2"))
	o.add(post("p3"))
	o.add(write{key: "state", op: "state", fn: func(context.Context) error {
		mu.Lock()
		applied = append(applied, []string{"state"})
		mu.Unlock()
		return nil
	}})
	o.add(answer("a5"))
	short, stop := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer stop()
	if err := o.flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush with a batch in flight = %v, want a timeout", err)
	}
	close(release)
	if err := o.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a2", "a5"} {
		if err := <-heard[id]; err != nil {
			t.Errorf("answer %s heard %v, want nil", id, err)
		}
	}
	mu.Lock()
	want := [][]string{{"p1"}, {"p2", "p3", "a2"}, {"state"}, {"a5"}}
	if !reflect.DeepEqual(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
	mu.Unlock()

	// A write that never gets its turn, and one after the end.
	o.add(write{op: "stuck", fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	o.add(answer("a6"))
	cancel()
	<-done
	o.add(answer("a7"))
	for _, id := range []string{"a6", "a7"} {
		if err := <-heard[id]; !errors.Is(err, errOutboxClosed) {
			t.Errorf("answer %s heard %v, want errOutboxClosed", id, err)
		}
	}
}
