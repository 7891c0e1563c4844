package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

func testAccounts(t *testing.T, e *testEnv) {
	ctx := t.Context()
	other := e.acct + "-b"
	t.Cleanup(func() { e.rdb().SRem(ctx, accountsKey, other) })
	for _, a := range []string{other, e.acct, e.acct} {
		if err := e.db.AddAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.db.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(got) || !slices.Contains(got, e.acct) || !slices.Contains(got, other) {
		t.Errorf("Accounts = %v, want sorted with %s and %s", got, e.acct, other)
	}
	if ok, _ := e.rdb().SIsMember(ctx, accountsKey, e.acct).Result(); !ok {
		t.Errorf("%s is not in %s", e.acct, accountsKey)
	}
	for _, bad := range []string{"", "a{b", "a}b"} {
		if err := e.db.AddAccount(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddAccount(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func testCookies(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if jar, err := e.db.Cookies(ctx, e.acct); jar != nil || err != nil {
		t.Fatalf("Cookies before save = %q, %v; want nil, nil", jar, err)
	}
	jar := []byte(`[{"name":"ptwebqq","value":"x"}]`)
	if err := e.db.SaveCookies(ctx, e.acct, jar); err != nil {
		t.Fatal(err)
	}
	if raw, _ := e.rdb().Get(ctx, cookiesKey(e.acct)).Result(); raw != string(jar) {
		t.Errorf("%s = %q, want %q", cookiesKey(e.acct), raw, jar)
	}
	if ttl, _ := e.rdb().PTTL(ctx, cookiesKey(e.acct)).Result(); ttl >= 0 {
		t.Errorf("cookies have a TTL (%v); they must stay", ttl)
	}
	if got, err := e.db.Cookies(ctx, e.acct); err != nil || string(got) != string(jar) {
		t.Errorf("Cookies = %q, %v", got, err)
	}
	if err := e.db.DeleteCookies(ctx, e.acct); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb().Exists(ctx, cookiesKey(e.acct)).Result(); n != 0 {
		t.Error("cookies key still there after DeleteCookies")
	}
	if jar, err := e.db.Cookies(ctx, e.acct); jar != nil || err != nil {
		t.Errorf("Cookies after delete = %q, %v", jar, err)
	}
}

func testQRCode(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if png, err := e.db.QRCode(ctx, e.acct); png != nil || err != nil {
		t.Fatalf("QRCode before set = %v, %v", png, err)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00binary")
	if err := e.db.SetQRCode(ctx, e.acct, png, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, qrcodeKey(e.acct)).Result(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL %s = %v, want (0, 1m]", qrcodeKey(e.acct), ttl)
	}
	if got, err := e.db.QRCode(ctx, e.acct); err != nil || string(got) != string(png) {
		t.Errorf("QRCode = %q, %v", got, err)
	}
	if err := e.db.SetQRCode(ctx, e.acct, png, 0); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := e.rdb().PTTL(ctx, qrcodeKey(e.acct)).Result(); ttl >= 0 {
		t.Errorf("ttl 0: PTTL = %v, want no expiry", ttl)
	}
	if err := e.db.DeleteQRCode(ctx, e.acct); err != nil {
		t.Fatal(err)
	}
	if png, err := e.db.QRCode(ctx, e.acct); png != nil || err != nil {
		t.Errorf("QRCode after delete = %v, %v", png, err)
	}
}

func testState(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if st, err := e.db.State(ctx, e.acct); err != nil || !reflect.DeepEqual(st, State{}) {
		t.Fatalf("State before set = %+v, %v", st, err)
	}
	start := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	st := State{
		State: openqq.StateRunning, Previous: openqq.StateUpdating, PID: 4242,
		Host: "box", OS: "linux", Version: openqq.Version,
		StartTime: start, LoginTime: start.Add(time.Minute), LastPoll: start.Add(2 * time.Minute),
		Owner: "box:4242:abc",
	}
	if err := e.db.SetState(ctx, e.acct, st); err != nil {
		t.Fatal(err)
	}
	h, _ := e.rdb().HGetAll(ctx, stateKey(e.acct)).Result()
	want := map[string]string{
		"account": e.acct, "state": "running", "previous_state": "updating", "pid": "4242",
		"host": "box", "os": "linux", "version": openqq.Version,
		"start_time": "2024-05-01T12:00:00.123456789Z", "login_time": "2024-05-01T12:01:00.123456789Z",
		"last_poll": "2024-05-01T12:02:00.123456789Z", "owner": "box:4242:abc",
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("HGETALL %s =\n%v\nwant\n%v", stateKey(e.acct), h, want)
	}
	got, err := e.db.State(ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	st.Account = e.acct
	if !reflect.DeepEqual(got, st) {
		t.Errorf("State =\n%+v\nwant\n%+v", got, st)
	}

	beat := start.Add(time.Hour)
	if err := e.db.Heartbeat(ctx, e.acct, beat); err != nil {
		t.Fatal(err)
	}
	got, _ = e.db.State(ctx, e.acct)
	if !got.Heartbeat.Equal(beat) || got.State != openqq.StateRunning || !got.LastPoll.Equal(st.LastPoll) {
		t.Errorf("after Heartbeat: %+v", got)
	}
	// A state change without a heartbeat keeps the last one.
	st.State, st.Previous = openqq.StateStop, openqq.StateRunning
	if err := e.db.SetState(ctx, e.acct, st); err != nil {
		t.Fatal(err)
	}
	got, _ = e.db.State(ctx, e.acct)
	if !got.Heartbeat.Equal(beat) || got.State != openqq.StateStop || got.Previous != openqq.StateRunning {
		t.Errorf("after SetState: %+v", got)
	}

	e.rdb().HSet(ctx, stateKey(e.acct), "pid", "not a number")
	if _, err := e.db.State(ctx, e.acct); err == nil {
		t.Error("State of a corrupt record: no error")
	}
}

func sampleContacts() *openqq.Contacts {
	mark := "buddy"
	return &openqq.Contacts{
		User:    openqq.User{ID: 1, UID: 10001, Name: "me", Account: "10001"},
		Friends: []openqq.Friend{{ID: 2, Name: "friend", Markname: &mark, Category: openqq.DefaultCategory}},
		Groups: []openqq.Group{{ID: 3, Code: 33, Name: "group",
			Members: []openqq.Member{{ID: 4, Name: "member"}}}},
		Discusses: []openqq.Discuss{{ID: 5, Name: "talk", Members: []openqq.DiscussMember{{ID: 6, Name: "m"}}}},
	}
}

func testContacts(t *testing.T, e *testEnv) {
	ctx := t.Context()
	if _, err := e.db.Contacts(ctx, e.acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Contacts before save: %v, want ErrNotFound", err)
	}
	if _, err := e.db.Friends(ctx, e.acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Friends before save: %v, want ErrNotFound", err)
	}
	if err := e.db.SaveContacts(ctx, e.acct, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveContacts(nil) = %v, want ErrInvalid", err)
	}
	c := sampleContacts()
	if err := e.db.SaveContacts(ctx, e.acct, c); err != nil {
		t.Fatal(err)
	}
	for key, v := range map[string]any{
		userKey(e.acct): c.User, friendsKey(e.acct): c.Friends,
		groupsKey(e.acct): c.Groups, discussesKey(e.acct): c.Discusses,
	} {
		want, _ := json.Marshal(v)
		if got, _ := e.rdb().Get(ctx, key).Result(); got != string(want) {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	got, err := e.db.Contacts(ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("Contacts =\n%+v\nwant\n%+v", got, c)
	}
	u, err := e.db.User(ctx, e.acct)
	if err != nil || !reflect.DeepEqual(*u, c.User) {
		t.Errorf("User = %+v, %v", u, err)
	}
	fs, _ := e.db.Friends(ctx, e.acct)
	gs, _ := e.db.Groups(ctx, e.acct)
	ds, _ := e.db.Discusses(ctx, e.acct)
	if !reflect.DeepEqual(fs, c.Friends) || !reflect.DeepEqual(gs, c.Groups) || !reflect.DeepEqual(ds, c.Discusses) {
		t.Errorf("parts = %+v %+v %+v", fs, gs, ds)
	}

	// Empty lists are stored as [] and read back as empty, not nil.
	if err := e.db.SaveContacts(ctx, e.acct, &openqq.Contacts{User: c.User}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := e.rdb().Get(ctx, friendsKey(e.acct)).Result(); raw != "[]" {
		t.Errorf("%s = %s, want []", friendsKey(e.acct), raw)
	}
	got, err = e.db.Contacts(ctx, e.acct)
	if err != nil || got.Friends == nil || len(got.Groups) != 0 || got.Discusses == nil {
		t.Errorf("Contacts with empty lists = %+v, %v", got, err)
	}
}

func testDeleteAccount(t *testing.T, e *testEnv) {
	ctx := t.Context()
	db := e.db
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.AddAccount(ctx, e.acct))
	must(db.SaveCookies(ctx, e.acct, []byte("{}")))
	must(db.SaveContacts(ctx, e.acct, sampleContacts()))
	must(db.PushCheckEvent(ctx, e.acct, []byte(`{"a":1}`), 0))
	_, err := db.AppendEvent(ctx, e.acct, []byte(`{"a":1}`))
	must(err)
	must(db.Enqueue(ctx, e.acct, &openqq.Command{ID: "c1", API: "x", Deadline: time.Now().Add(time.Minute)}))
	_, err = db.Consume(ctx, e.acct, "c", 1, 0)
	must(err)
	_, err = db.AcquireLease(ctx, e.acct, "me", time.Minute)
	must(err)

	must(db.DeleteAccount(ctx, e.acct))
	keys := append(fixedKeys(e.acct), markerKey(e.acct, "c1"))
	if n, _ := e.rdb().Exists(ctx, keys...).Result(); n != 0 {
		t.Errorf("%d keys left after DeleteAccount", n)
	}
	if ok, _ := e.rdb().SIsMember(ctx, accountsKey, e.acct).Result(); ok {
		t.Error("account still listed")
	}
	if n, _ := e.rdb().Exists(ctx, leaseTokenKey(e.acct)).Result(); n != 1 {
		t.Error("lease token counter deleted; fencing tokens would restart")
	}
	if err := db.DeleteAccount(ctx, "a{b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("DeleteAccount(bad) = %v", err)
	}
}
