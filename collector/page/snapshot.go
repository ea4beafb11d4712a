package page

import (
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// Snapshot is one view of the regions as the page writes it, for a
// report printed on paper: the same map, summary and figures.
type Snapshot struct {
	Title, From, To, Rules string
	SVG                    template.HTML
	Legend                 []LegendEntry
	Rows                   []Row
	Blank                  []Row // blank and silent, most people first
	BlankHead, NoneBlank   string
	Estimated              bool
}

// Snapshot computes the view q (no trend: a report prints its own
// period) and writes it in lang ("id" unless "en"); the map links
// nowhere.
func (s *Page) Snapshot(ctx context.Context, q httpapi.View, lang string) (Snapshot, error) {
	v, err := s.compute(ctx, q, false, false)
	if err != nil {
		return Snapshot{}, err
	}
	d, err := s.figures(q, v, Lang(lang), nil)
	return d.Snapshot, err
}

// Lang is the page's language for a request's lang: Indonesian unless
// English is asked for.
func Lang(lang string) string {
	if lang == "en" {
		return "en"
	}
	return "id"
}

// Colours is the page's palette, for other pages in its style.
func Colours() Palette { return colours }

// Format writes numbers, shares and times as the page does in one
// language and zone.
type Format struct{ f format }

// NewFormat is the page's format for lang in loc.
func NewFormat(lang string, loc *time.Location) Format { return Format{formats[Lang(lang)].in(loc)} }

// Int writes 1437046 as 1.437.046 (id) or 1,437,046 (en).
func (f Format) Int(n int64) string { return f.f.int(n) }

// Pct writes a share as a percentage to one decimal, "–" for NaN.
func (f Format) Pct(v float64) string { return f.f.pct(v) }

// When writes t to the minute in the zone, with as much of the date as
// differs from now's.
func (f Format) When(t, now time.Time) string { return f.f.when(t, now) }

// Month writes t's month and year: "Nov 2026".
func (f Format) Month(t time.Time) string {
	t = t.In(f.f.loc)
	return fmt.Sprintf("%s %d", f.f.months[t.Month()-1], t.Year())
}

// StatusName is a status in lang's words.
func StatusName(lang string, st coverage.Status) string { return pageLabels[Lang(lang)].Status[st] }

// LevelName is a region level in lang's words: "kabupaten/kota".
func LevelName(lang string, level int) string { return pageLabels[Lang(lang)].levelName(level) }

// ChangeTexts writes changes in lang: "Lebak (36.02, kabupaten/kota):
// blank spot → baik".
func ChangeTexts(cs []Change, lang string) []string { return changeTexts(cs, pageLabels[Lang(lang)]) }
