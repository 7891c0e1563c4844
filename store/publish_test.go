package store_test

import (
	"fmt"
	"testing"

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
