package report

import (
	"fmt"
	"time"
)

// Period is the calendar month a report covers, in the page's zone.
type Period struct {
	From, To time.Time // To is the first instant of the next month
}

// ParsePeriod reads a month written YYYY-MM ("2026-11") in loc.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil || len(s) != len("2006-01") {
		return Period{}, fmt.Errorf("period %q is not a month: write it YYYY-MM, e.g. 2026-11", s)
	}
	return Period{From: t, To: t.AddDate(0, 1, 0)}, nil
}

// Previous is the month before p.
func (p Period) Previous() Period { return Period{From: p.From.AddDate(0, -1, 0), To: p.From} }

// String is p as ParsePeriod reads it.
func (p Period) String() string { return p.From.Format("2006-01") }
