package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

// Key names as store/keys.go spells them, to check Redis key by key.
func webhookKey(acct, rest string) string { return "openqq:{" + acct + "}:webhook:" + rest }

func TestWebhookRegistry(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	active := store.WebhookStatus{State: "active", Since: time.Unix(100, 0).UTC()}
	created, err := db.SaveWebhookSubscriber(ctx, acct, "cfg-1", []byte(`{"url":"http://a"}`), active)
	if err != nil || !created {
		t.Fatalf("save = %v, %v", created, err)
	}
	if _, err := db.SaveWebhookSubscriber(ctx, acct, "sub-2", []byte(`{"url":"http://b"}`), active); err != nil {
		t.Fatal(err)
	}
	paused := store.WebhookStatus{State: "paused", Reason: "ops", Since: time.Unix(200, 0).UTC()}
	if err := db.SetWebhookStatus(ctx, acct, "cfg-1", paused); err != nil {
		t.Fatal(err)
	}
	// Saving again (a restart) updates the config and keeps the pause.
	created, err = db.SaveWebhookSubscriber(ctx, acct, "cfg-1", []byte(`{"url":"http://a2"}`), active)
	if err != nil || created {
		t.Fatalf("second save = %v, %v", created, err)
	}
	subs, err := db.WebhookSubscribers(ctx, acct)
	if err != nil || len(subs) != 2 {
		t.Fatalf("subscribers = %+v, %v", subs, err)
	}
	if subs[0].ID != "cfg-1" || string(subs[0].Config) != `{"url":"http://a2"}` || subs[0].Status != paused {
		t.Errorf("cfg-1 = %+v", subs[0])
	}
	if subs[1].ID != "sub-2" || subs[1].Status.State != "active" {
		t.Errorf("sub-2 = %+v", subs[1])
	}
	raw := db.Client()
	if n, _ := raw.HLen(ctx, webhookKey(acct, "subscribers")).Result(); n != 2 {
		t.Errorf("HLEN subscribers = %d", n)
	}
	if err := db.SetWebhookStatus(ctx, acct, "nope", paused); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetWebhookStatus(unknown) = %v", err)
	}
	if _, err := db.SaveWebhookSubscriber(ctx, acct, "x", []byte(`{`), active); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad config = %v", err)
	}
	if _, err := db.SaveWebhookSubscriber(ctx, acct, "a:b", []byte(`{}`), active); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad id = %v", err)
	}
}

func TestWebhookDeleteSubscriberRemovesItsKeys(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if _, err := db.SaveWebhookSubscriber(ctx, acct, "s1", []byte(`{}`), store.WebhookStatus{State: "active"}); err != nil {
		t.Fatal(err)
	}
	if err := db.EventGroup(ctx, acct, "webhook:s1", "0"); err != nil {
		t.Fatal(err)
	}
	id, _ := db.AppendEvent(ctx, acct, []byte(`{"post_type":"event"}`))
	evs, err := db.ReadEventGroup(ctx, acct, "webhook:s1", "c", 10, 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("read = %v, %v", evs, err)
	}
	if err := db.DeadLetterEvent(ctx, acct, "webhook:s1", evs[0], "test"); err != nil {
		t.Fatal(err)
	}
	db.SaveWebhookRetry(ctx, acct, "s1", store.WebhookRetry{EventID: id, Attempts: 1}, time.Minute)
	db.AcquireWebhookLease(ctx, acct, "s1", "me", time.Minute)
	db.RequestWebhookReplay(ctx, acct, "s1", "1-1")

	existed, err := db.DeleteWebhookSubscriber(ctx, acct, "s1", "webhook:s1")
	if err != nil || !existed {
		t.Fatalf("delete = %v, %v", existed, err)
	}
	raw := db.Client()
	for _, k := range []string{
		webhookKey(acct, "retry:s1"), webhookKey(acct, "lease:s1"), webhookKey(acct, "replay:s1"),
		"openqq:{" + acct + "}:dlq:webhook:s1",
	} {
		if n, _ := raw.Exists(ctx, k).Result(); n != 0 {
			t.Errorf("%s still exists", k)
		}
	}
	if ok, _ := raw.HExists(ctx, webhookKey(acct, "status"), "s1").Result(); ok {
		t.Error("status still there")
	}
	if _, err := db.ReadEventGroup(ctx, acct, "webhook:s1", "c", 10, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("group survived: %v", err)
	}
	if existed, err := db.DeleteWebhookSubscriber(ctx, acct, "s1", "webhook:s1"); err != nil || existed {
		t.Errorf("second delete = %v, %v", existed, err)
	}
}

func TestWebhookLease(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if ok, err := db.AcquireWebhookLease(ctx, acct, "s", "a", time.Minute); err != nil || !ok {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, _ := db.AcquireWebhookLease(ctx, acct, "s", "b", time.Minute); ok {
		t.Fatal("b took a held lease")
	}
	if ok, _ := db.AcquireWebhookLease(ctx, acct, "s", "a", time.Minute); !ok {
		t.Fatal("a could not renew")
	}
	if ok, _ := db.AcquireWebhookLease(ctx, acct, "other", "b", time.Minute); !ok {
		t.Fatal("leases are per subscriber")
	}
	db.ReleaseWebhookLease(ctx, acct, "s", "b") // not b's: nothing happens
	if ok, _ := db.AcquireWebhookLease(ctx, acct, "s", "b", time.Minute); ok {
		t.Fatal("b released a's lease")
	}
	if err := db.ReleaseWebhookLease(ctx, acct, "s", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.AcquireWebhookLease(ctx, acct, "s", "b", time.Minute); !ok {
		t.Fatal("b could not take a released lease")
	}
	if pttl, _ := db.Client().PTTL(ctx, webhookKey(acct, "lease:s")).Result(); pttl <= 0 || pttl > time.Minute {
		t.Errorf("PTTL = %s", pttl)
	}
	if _, err := db.AcquireWebhookLease(ctx, acct, "s", "", time.Minute); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty owner = %v", err)
	}
}

func TestWebhookLeaseOneWinner(t *testing.T) {
	db, acct := storetest.New(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 8 {
		wg.Go(func() {
			ok, err := db.AcquireWebhookLease(t.Context(), acct, "s", string(rune('a'+i)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d winners", winners)
	}
}

func TestWebhookRetryState(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if _, err := db.LoadWebhookRetry(ctx, acct, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty = %v", err)
	}
	r := store.WebhookRetry{EventID: "5-0", Attempts: 3, First: time.Unix(10, 0).UTC(), Next: time.Unix(40, 0).UTC(), LastStatus: 503, LastError: "HTTP 503"}
	if err := db.SaveWebhookRetry(ctx, acct, "s", r, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := db.LoadWebhookRetry(ctx, acct, "s")
	if err != nil || got != r {
		t.Errorf("load = %+v, %v", got, err)
	}
	if pttl, _ := db.Client().PTTL(ctx, webhookKey(acct, "retry:s")).Result(); pttl <= 0 || pttl > time.Hour {
		t.Errorf("PTTL = %s", pttl)
	}
	if err := db.ClearWebhookRetry(ctx, acct, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadWebhookRetry(ctx, acct, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after clear = %v", err)
	}
}

func TestWebhookReplyClaim(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if ok, err := db.ClaimWebhookReply(ctx, acct, "7-0", "a", time.Hour); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	if ok, _ := db.ClaimWebhookReply(ctx, acct, "7-0", "b", time.Hour); ok {
		t.Error("second subscriber won too")
	}
	if ok, _ := db.ClaimWebhookReply(ctx, acct, "7-0", "a", time.Hour); !ok {
		t.Error("the winner must win again (redelivery)")
	}
	if ok, _ := db.ClaimWebhookReply(ctx, acct, "8-0", "b", time.Hour); !ok {
		t.Error("claims are per event")
	}
	if v, _ := db.Client().Get(ctx, webhookKey(acct, "replied:7-0")).Result(); v != "a" {
		t.Errorf("claim key = %q", v)
	}
	if _, err := db.ClaimWebhookReply(ctx, acct, "$", "a", time.Hour); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad event id = %v", err)
	}
}

func TestWebhookReplayRequests(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if err := db.EventGroup(ctx, acct, "webhook:s", "0"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		db.AppendEvent(ctx, acct, []byte(`{"post_type":"event"}`))
	}
	evs, _ := db.ReadEventGroup(ctx, acct, "webhook:s", "c", 10, 0)
	for _, ev := range evs {
		if err := db.DeadLetterEvent(ctx, acct, "webhook:s", ev, "r"); err != nil {
			t.Fatal(err)
		}
	}
	dls, err := db.DeadLetters(ctx, acct, "webhook:s", "", 10)
	if err != nil || len(dls) != 3 {
		t.Fatalf("dead letters = %v, %v", dls, err)
	}
	// Each one can be read by id, even the first of its millisecond.
	for _, dl := range dls {
		got, err := db.DeadLetter(ctx, acct, "webhook:s", dl.ID)
		if err != nil || got.ID != dl.ID || got.Event.ID != dl.Event.ID {
			t.Errorf("DeadLetter(%s) = %+v, %v", dl.ID, got, err)
		}
	}
	if _, err := db.DeadLetter(ctx, acct, "webhook:s", "1-0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing dead letter = %v", err)
	}
	if _, err := db.DeadLetter(ctx, acct, "webhook:s", "0-0"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("0-0 = %v", err)
	}
	if err := db.RequestWebhookReplay(ctx, acct, "s", dls[2].ID, dls[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RequestWebhookReplay(ctx, acct, "s", "junk"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad id = %v", err)
	}
	ids, err := db.WebhookReplays(ctx, acct, "s")
	if err != nil || !slices.Equal(ids, []string{dls[0].ID, dls[2].ID}) {
		t.Errorf("replays = %v, %v (want oldest first)", ids, err)
	}
	if err := db.DoneWebhookReplay(ctx, acct, "s", dls[0].ID); err != nil {
		t.Fatal(err)
	}
	if ids, _ := db.WebhookReplays(ctx, acct, "s"); !slices.Equal(ids, []string{dls[2].ID}) {
		t.Errorf("after done = %v", ids)
	}
}

func TestWebhookReplayOrderAcrossMilliseconds(t *testing.T) {
	db, acct := storetest.New(t)
	ids := []string{"10-2", "9-7", "100-0", "10-10"}
	if err := db.RequestWebhookReplay(t.Context(), acct, "s", ids...); err != nil {
		t.Fatal(err)
	}
	got, _ := db.WebhookReplays(t.Context(), acct, "s")
	if want := []string{"9-7", "10-2", "10-10", "100-0"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
