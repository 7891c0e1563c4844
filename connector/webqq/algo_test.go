package webqq

import (
	"testing"
	"time"
)

// Vectors of spec §14.
func TestHash33(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"abc", 108966},
		{"qrsig_example_0123456789", 690569949},
		{"", 0},
	} {
		if got := hash33(tc.in); got != tc.want {
			t.Errorf("hash33(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestTime33(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"@AbCdEfGh1", 457966101},
		{"", 0},
	} {
		if got := time33(tc.in); got != tc.want {
			t.Errorf("time33(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestFriendHash(t *testing.T) {
	for _, tc := range []struct {
		ptwebqq string
		uin     int64
		want    string
	}{
		{"", 123456789, "004200180082005E"},
		{"abcdef", 123456789, "044204186382645E"},
		{"", 0, "00450043004F004B"},
		{"", 2372961723, "00C8003300CA00F0"}, // the 2018 log of spec §14.3
	} {
		if got := friendHash(tc.ptwebqq, tc.uin); got != tc.want {
			t.Errorf("friendHash(%q, %d) = %s, want %s", tc.ptwebqq, tc.uin, got, tc.want)
		}
	}
}

func TestBkn(t *testing.T) {
	if got := bkn("@AbCdEfGh1"); got != 1358553434 {
		t.Errorf("bkn = %d, want 1358553434", got)
	}
	if got := bkn(""); got != 5381 {
		t.Errorf("bkn(\"\") = %d, want 5381", got)
	}
}

func TestMsgIDsMonotonicBelow2p31(t *testing.T) {
	ids := newMsgIDs(time.Date(2019, 1, 1, 12, 34, 56, 789e6, time.UTC))
	prev := int64(0)
	for range 1000 {
		n := ids.next()
		if n <= prev || n >= 1<<31 {
			t.Fatalf("id %d after %d: want increasing and < 2^31", n, prev)
		}
		prev = n
	}
	// Seeded from the clock as the original: (x mod 10000) * 10000 + 1.
	x := time.Date(2019, 1, 1, 12, 34, 56, 789e6, time.UTC).Unix() + 789
	if first := newMsgIDs(time.Date(2019, 1, 1, 12, 34, 56, 789e6, time.UTC)).next(); first != (x%10000)*10000+1 {
		t.Errorf("first id %d, want %d", first, (x%10000)*10000+1)
	}
	ids.n.Store(1<<31 - 2)
	if a, b := ids.next(), ids.next(); a != 1<<31-1 || b != 1 {
		t.Errorf("ids at the top: %d, %d; want 2147483647 then 1", a, b)
	}
}
