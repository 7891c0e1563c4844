package store_test

import (
	"fmt"
	"testing"

	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestPublish(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	post := func(i int) []byte { return fmt.Appendf(nil, `{"post_type":"event","event":"e%d","params":[]}`, i) }
	// Three posts for check_event with room for two, one that is not for it.
	for i := 1; i <= 3; i++ {
		if id, err := db.Publish(ctx, acct, post(i), 2); err != nil || id == "" {
			t.Fatalf("publish %d: %q, %v", i, id, err)
		}
	}
	if _, err := db.Publish(ctx, acct, post(4), 0); err != nil {
		t.Fatal(err)
	}
	evs, err := db.ReadEvents(ctx, acct, "0", 10, 0)
	if err != nil || len(evs) != 4 {
		t.Fatalf("events stream: %d entries, %v; want all 4", len(evs), err)
	}
	for i, ev := range evs {
		if string(ev.Payload) != string(post(i+1)) {
			t.Errorf("event %d = %s", i, ev.Payload)
		}
	}
	got, err := db.TakeCheckEvents(ctx, acct, 0)
	if err != nil || len(got) != 2 || string(got[0]) != string(post(2)) || string(got[1]) != string(post(3)) {
		t.Fatalf("check_event buffer = %s, %v; want posts 2 and 3", got, err)
	}
	if _, err := db.Publish(ctx, acct, []byte("not json"), 2); err == nil {
		t.Error("published a payload that is not JSON")
	}
}

// PublishAll keeps the order of its posts in both the stream and the
// check_event buffer, sends only those meant for check_event there, and
// publishes nothing when one payload is bad.
func TestPublishAll(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	post := func(i int) []byte { return fmt.Appendf(nil, `{"post_type":"event","event":"e%d","params":[]}`, i) }
	if _, err := db.PublishAll(ctx, acct, []store.Publication{{Post: post(0)}, {Post: []byte("{")}}); err == nil {
		t.Fatal("published a batch with a payload that is not JSON")
	}
	var pubs []store.Publication
	for i := 1; i <= 5; i++ {
		pubs = append(pubs, store.Publication{Post: post(i), CheckEventMax: 3 * (i % 2)}) // odd ones to check_event
	}
	ids, err := db.PublishAll(ctx, acct, pubs)
	if err != nil || len(ids) != 5 {
		t.Fatalf("PublishAll = %v, %v", ids, err)
	}
	evs, err := db.ReadEvents(ctx, acct, "0", 10, 0)
	if err != nil || len(evs) != 5 {
		t.Fatalf("events stream: %d entries, %v; want the 5 of the good batch only", len(evs), err)
	}
	for i, ev := range evs {
		if string(ev.Payload) != string(post(i+1)) || ev.ID != ids[i] {
			t.Errorf("event %d = %s %s, want %s %s", i, ev.ID, ev.Payload, ids[i], post(i+1))
		}
	}
	got, err := db.TakeCheckEvents(ctx, acct, 0)
	if err != nil || len(got) != 3 || string(got[0]) != string(post(1)) || string(got[2]) != string(post(5)) {
		t.Fatalf("check_event buffer = %s, %v; want posts 1, 3 and 5", got, err)
	}
	if ids, err := db.PublishAll(ctx, acct, nil); err != nil || len(ids) != 0 {
		t.Errorf("empty PublishAll = %v, %v", ids, err)
	}
}
