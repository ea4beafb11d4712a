package page

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // page.time_zone works where the system has no zoneinfo
)

// Config is the page: section of collector.yaml.
type Config struct {
	// TimeZone is the IANA zone the page shows times in: Asia/Jakarta
	// (WIB, the default), Asia/Makassar (WITA) or Asia/Jayapura (WIT).
	TimeZone string `yaml:"time_zone"`
}

// DefaultConfig shows times in WIB.
var DefaultConfig = Config{TimeZone: "Asia/Jakarta"}

// Location loads the zone; its error names the key and what to write.
func (c Config) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		return nil, fmt.Errorf("page.time_zone %q is not a time zone: use an IANA name such as Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)", c.TimeZone)
	}
	return loc, nil
}

// format writes numbers and times the way one language reads them.
type format struct {
	group, decimal string   // digit group and decimal separators
	clock          string   // hour-minute separator: 08.03 in Indonesian
	million        string   // 1,53 jt / 1.53 M
	months         []string // short month names, January first
	loc            *time.Location
}

var formats = map[string]format{
	"id": {group: ".", decimal: ",", clock: ".", million: "jt",
		months: []string{"Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"}},
	"en": {group: ",", decimal: ".", clock: ":", million: "M",
		months: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}},
}

// in is f with times shown in loc.
func (f format) in(loc *time.Location) format {
	f.loc = loc
	return f
}

// int writes 1437046 as 1.437.046 (id) or 1,437,046 (en).
func (f format) int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(f.group)
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// people writes a count of people: in full below a million, else in
// millions to two decimals (1,53 jt; 1.53 M).
func (f format) people(n int64) string {
	if n < 1_000_000 {
		return f.int(n)
	}
	return f.fixed(float64(n)/1e6, 2) + " " + f.million
}

// fixed writes v with d decimals and the language's decimal separator.
func (f format) fixed(v float64, d int) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	whole, frac, ok := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := f.int(n)
	if strings.HasPrefix(whole, "-") && n == 0 {
		out = "-" + out
	}
	if ok {
		out += f.decimal + frac
	}
	return out
}

// pct writes a share as a percentage to one decimal.
func (f format) pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return f.fixed(v*100, 1) + "%"
}

// clockTime writes t's local hour and minute with the zone: 08.03 WIB.
func (f format) clockTime(t time.Time) string {
	t = t.In(f.loc)
	return fmt.Sprintf("%02d%s%02d %s", t.Hour(), f.clock, t.Minute(), t.Format("MST"))
}

// when writes t to the minute in the page's zone, with its day unless it
// is now's day, and its year unless it is now's year: "08.03 WIB",
// "27 Nov 08.03 WIB", "27 Nov 2025 08.03 WIB". Zero is "–".
func (f format) when(t, now time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t, now = t.In(f.loc), now.In(f.loc)
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	switch {
	case ty == ny && tm == nm && td == nd:
		return f.clockTime(t)
	case ty == ny:
		return fmt.Sprintf("%d %s %s", td, f.months[tm-1], f.clockTime(t))
	}
	return fmt.Sprintf("%d %s %d %s", td, f.months[tm-1], ty, f.clockTime(t))
}
