package report

import (
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	wib, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in       string
		from, to string // RFC 3339 in UTC; "" for an error
	}{
		{"2026-11", "2026-10-31T17:00:00Z", "2026-11-30T17:00:00Z"},
		{"2026-12", "2026-11-30T17:00:00Z", "2026-12-31T17:00:00Z"},
		{"2026-13", "", ""},
		{"2026-1", "", ""},
		{"2026-11-01", "", ""},
		{"Nov 2026", "", ""},
		{"", "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePeriod(tc.in, wib)
			if tc.from == "" {
				if err == nil || !strings.Contains(err.Error(), `"`+tc.in+`"`) || !strings.Contains(err.Error(), "YYYY-MM") {
					t.Fatalf("ParsePeriod(%q) = %v, %v; want an error naming the value and YYYY-MM", tc.in, p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.From.UTC().Format(time.RFC3339); got != tc.from {
				t.Errorf("from %s, want %s", got, tc.from)
			}
			if got := p.To.UTC().Format(time.RFC3339); got != tc.to {
				t.Errorf("to %s, want %s", got, tc.to)
			}
		})
	}
	p, _ := ParsePeriod("2026-01", wib)
	if got := p.Previous().String(); got != "2025-12" {
		t.Errorf("the month before 2026-01 is %s, want 2025-12", got)
	}
}
