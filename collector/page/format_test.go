package page

import (
	"testing"
	"time"
)

func TestNumbers(t *testing.T) {
	id, en := formats["id"], formats["en"]
	for _, tc := range []struct {
		f    format
		n    int64
		want string
	}{
		{id, 1437046, "1.437.046"}, {en, 1437046, "1,437,046"},
		{id, 999, "999"}, {id, 1000, "1.000"}, {en, 0, "0"}, {en, -12345, "-12,345"},
	} {
		if got := tc.f.int(tc.n); got != tc.want {
			t.Errorf("int(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		f    format
		n    int64
		want string
	}{
		{id, 1_530_000, "1,53 jt"}, {en, 1_530_000, "1.53 M"}, {id, 2483, "2.483"}, {en, 999_999, "999,999"},
	} {
		if got := tc.f.people(tc.n); got != tc.want {
			t.Errorf("people(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := id.pct(0.9873); got != "98,7%" {
		t.Errorf("id pct = %q, want 98,7%%", got)
	}
	if got := en.pct(0.9873); got != "98.7%" {
		t.Errorf("en pct = %q, want 98.7%%", got)
	}
}

// TestTimes: the Bahasa page writes 08.03 WIB; the zone is configurable
// and each Indonesian zone carries its own name.
func TestTimes(t *testing.T) {
	at := time.Date(2026, 11, 27, 1, 3, 40, 0, time.UTC) // 08:03:40 WIB
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang, zone string
		at, now    time.Time
		want       string
	}{
		{"id", "Asia/Jakarta", at, now, "08.03 WIB"},
		{"en", "Asia/Jakarta", at, now, "08:03 WIB"},
		{"id", "Asia/Makassar", at, now, "09.03 WITA"},
		{"id", "Asia/Jayapura", at, now, "10.03 WIT"},
		{"id", "Asia/Jakarta", at, now.Add(48 * time.Hour), "27 Nov 08.03 WIB"},
		{"id", "Asia/Jakarta", at.AddDate(0, 0, 6), now.AddDate(0, 0, 6), "08.03 WIB"},
		{"id", "Asia/Jakarta", at.AddDate(0, 0, 6), now.AddDate(0, 1, 0), "3 Des 08.03 WIB"},
		{"en", "Asia/Jakarta", at, now.AddDate(1, 0, 0), "27 Nov 2026 08:03 WIB"},
		{"id", "Asia/Jakarta", time.Time{}, now, "–"},
	} {
		loc, err := Config{TimeZone: tc.zone}.Location()
		if err != nil {
			t.Fatal(err)
		}
		if got := formats[tc.lang].in(loc).when(tc.at, tc.now); got != tc.want {
			t.Errorf("%s in %s: when(%v) = %q, want %q", tc.lang, tc.zone, tc.at, got, tc.want)
		}
	}
	if _, err := (Config{TimeZone: "WIB"}).Location(); err == nil {
		t.Error("page.time_zone WIB (not an IANA name) was accepted")
	}
}

func TestPlurals(t *testing.T) {
	en, id := pageLabels["en"], pageLabels["id"]
	for _, tc := range []struct{ got, want string }{
		{en.regions("1", false), "1 region"}, {en.regions("2", true), "2 regions"},
		{id.regions("2", true), "2 wilayah"},
		{minutes(1, "minute", "minutes"), "1 minute"}, {minutes(5, "minute", "minutes"), "5 minutes"},
		{minutes(2.5, "minute", "minutes"), "2.5 minutes"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
