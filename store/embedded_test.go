package store

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestEmbedded(t *testing.T) {
	emb, err := NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(emb.Addr(), "127.0.0.1:") || emb.URL() != "redis://"+emb.Addr()+"/0" {
		t.Errorf("Addr %q, URL %q", emb.Addr(), emb.URL())
	}
	db, err := Open(t.Context(), Options{URL: emb.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// TTLs run out in real time: the ticker moves miniredis's clock. The
	// wait is bounded; the check is that the key goes, not when.
	if err := db.SetQRCode(t.Context(), "emb", []byte("png"), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if png, _ := db.QRCode(t.Context(), "emb"); string(png) != "png" {
		t.Fatalf("QRCode = %q right after set", png)
	}
	gone := false
	for range 100 {
		if png, err := db.QRCode(t.Context(), "emb"); err == nil && png == nil {
			gone = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !gone {
		t.Error("a key with a 300ms TTL never expired")
	}

	addr := emb.Addr()
	if err := emb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := emb.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("still listening after Close")
	}
}

func TestEmbeddedAddrInUse(t *testing.T) {
	emb, err := NewEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	if _, err := NewEmbedded(emb.Addr()); err == nil {
		t.Error("a second embedded Redis on the same address started")
	}
}
