package store

import (
	"os"
	"strings"
	"testing"
)

func TestConnectionsAreNamed(t *testing.T) {
	url := os.Getenv("OPENQQ_TEST_REDIS_URL")
	if url == "" {
		t.Skip("needs CLIENT LIST of a real redis-server: set OPENQQ_TEST_REDIS_URL")
	}
	db, err := Open(t.Context(), Options{URL: url, ClientName: "openqq-named-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.block.Ping(t.Context()).Result(); err != nil {
		t.Fatal(err)
	}
	list, err := clientList(t, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" name=openqq-named-test ", " name=openqq-named-test:block "} {
		if !strings.Contains(list, want) {
			t.Errorf("CLIENT LIST lacks %q:\n%s", want, list)
		}
	}
	if _, err := Open(t.Context(), Options{URL: url, ClientName: "has space"}); err == nil {
		t.Error("a client name with a space was accepted")
	}
}
