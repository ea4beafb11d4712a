package ratelimit

import (
	"testing"
	"time"
)

func TestKeyedAllow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	k := New(2, 3) // 2 tokens a second, bursts of 3
	for i := range 3 {
		if ok, _ := k.Allow("west", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := k.Allow("west", t0)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("past the burst: Allow = %v, %s; want false, 500ms", ok, wait)
	}
	if ok, _ := k.Allow("east", t0); !ok {
		t.Error("another key shares west's bucket")
	}
	// A refused request takes no token: half a second later one is there.
	if ok, _ := k.Allow("west", t0.Add(500*time.Millisecond)); !ok {
		t.Error("refill after 500ms refused")
	}
	if ok, _ := k.Allow("west", t0.Add(500*time.Millisecond)); ok {
		t.Error("second request after one refill allowed")
	}
}

func TestKeyedUnlimited(t *testing.T) {
	k := New(0, 0)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		if ok, _ := k.Allow("p", now); !ok {
			t.Fatalf("request %d refused without a limit", i)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {49 * time.Second, 49}} {
		if got := RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
