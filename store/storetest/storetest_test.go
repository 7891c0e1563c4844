package storetest_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openqq-relay/openqq/store"
	"github.com/openqq-relay/openqq/store/storetest"
)

func TestNew(t *testing.T) {
	// One server for the whole test, so the outer DB sees what a finished
	// subtest left behind.
	t.Setenv(storetest.EnvURL, storetest.URL(t))
	db, acct := storetest.New(t)
	if !strings.Contains(acct, "TestNew") {
		t.Errorf("account %q does not name the test", acct)
	}
	if err := db.SaveCookies(t.Context(), acct, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, other := storetest.New(t); other == acct {
		t.Error("two calls gave the same account")
	}
	var inner string
	t.Run("cleanup", func(t *testing.T) {
		sub, a := storetest.New(t)
		inner = a
		if err := sub.AddAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		if err := sub.SaveCookies(t.Context(), a, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	})
	accts, err := db.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(accts, inner) {
		t.Errorf("account %s left behind by a finished test", inner)
	}
	if jar, err := db.Cookies(t.Context(), inner); jar != nil || err != nil {
		t.Errorf("cookies of %s left behind: %q, %v", inner, jar, err)
	}
}

func TestURL(t *testing.T) {
	u := storetest.URL(t)
	if env := os.Getenv(storetest.EnvURL); env != "" && u != env {
		t.Errorf("URL = %q, want %s", u, env)
	}
	db, err := store.Open(t.Context(), store.Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestOpen: Open works on the Redis of a given URL, which another DB (a
// subprocess) reaches too, and cleans up as New does.
func TestOpen(t *testing.T) {
	u := storetest.URL(t)
	other, err := store.Open(t.Context(), store.Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var acct string
	t.Run("cleanup", func(t *testing.T) {
		db, a := storetest.Open(t, u)
		acct = a
		if err := db.SaveCookies(t.Context(), a, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if jar, err := other.Cookies(t.Context(), a); string(jar) != "{}" || err != nil {
			t.Errorf("the other DB reads %q, %v", jar, err)
		}
	})
	if jar, err := other.Cookies(t.Context(), acct); jar != nil || err != nil {
		t.Errorf("cookies of %s left behind: %q, %v", acct, jar, err)
	}
}
