package store_test

import (
	"testing"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestContactsVersion(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	version := func() int64 {
		t.Helper()
		v, err := db.ContactsVersion(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != 0 {
		t.Fatalf("version before any snapshot = %d, want 0", v)
	}
	c := &openqq.Contacts{User: openqq.User{ID: 1}}
	for want := int64(1); want <= 2; want++ {
		if err := db.SaveContacts(ctx, acct, c); err != nil {
			t.Fatal(err)
		}
		if v := version(); v != want {
			t.Fatalf("version after %d snapshots = %d", want, v)
		}
	}
	// The counter outlives the account, so a version never comes back with
	// other contacts behind it.
	if err := db.DeleteAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveContacts(ctx, acct, c); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 3 {
		t.Fatalf("version after delete and save = %d, want 3", v)
	}
	if _, err := db.ContactsVersion(ctx, "bad{acct}"); err == nil {
		t.Error("accepted a bad account")
	}
}

// StateAndContactsVersion answers what State and ContactsVersion answer,
// in one call.
func TestStateAndContactsVersion(t *testing.T) {
	db, acct := storetest.New(t)
	ctx := t.Context()
	if st, v, err := db.StateAndContactsVersion(ctx, acct); err != nil || st.State != "" || v != 0 {
		t.Fatalf("before anything = %+v, %d, %v", st, v, err)
	}
	if err := db.SaveContacts(ctx, acct, &openqq.Contacts{User: openqq.User{ID: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetState(ctx, acct, store.State{State: openqq.StateRunning, PID: 7}); err != nil {
		t.Fatal(err)
	}
	st, v, err := db.StateAndContactsVersion(ctx, acct)
	want, _ := db.State(ctx, acct)
	wantV, _ := db.ContactsVersion(ctx, acct)
	if err != nil || st != want || v != wantV || v == 0 || st.PID != 7 {
		t.Errorf("StateAndContactsVersion = %+v, %d, %v; want %+v, %d", st, v, err, want, wantV)
	}
	if _, _, err := db.StateAndContactsVersion(ctx, ""); err == nil {
		t.Error("no error for an empty account")
	}
}
