package page

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// trendDays is how many days the long trend on a region's row covers
// (the short one is its last weekDays), and trendMaxLevel the deepest
// level that has one: a day is one view of the level, so the kabupaten
// page costs 30 views and the desa page none.
const (
	trendDays     = 30
	weekDays      = 7
	trendMaxLevel = 2
)

// day is one region's figures over one day of the trend.
type day struct {
	availability float64 // NaN without results
	status       coverage.Status
}

// trend computes each region's last trendDays days, oldest first: days
// of 24 h ending at the end of the view, with the view's filters. With
// only set, it keeps that one region of the level (a region's page).
func (s *Page) trend(ctx context.Context, q httpapi.View, only string) (map[string][]day, error) {
	out := map[string][]day{}
	now := s.r.Now()
	for i := trendDays - 1; i >= 0; i-- {
		end := q.To.Add(-time.Duration(i) * 24 * time.Hour)
		dq := q.Query
		dq.From, dq.To, dq.Now = end.Add(-24*time.Hour), end, now
		cells, err := s.r.Engine().Regions(ctx, s.r.Rollups(), nil, q.Level, dq)
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			if only != "" && c.Region.Code != only {
				continue
			}
			av := c.Availability
			if c.Samples == 0 {
				av = math.NaN()
			}
			out[c.Region.Code] = append(out[c.Region.Code], day{av, c.Status})
		}
	}
	return out, nil
}

// sparkline draws days as a small SVG: a dot per day at its availability
// (top 100%, bottom 0%) in its status colour, joined where days follow
// each other; its label reads the figures out.
// A week is drawn 11 px a day, a month 4 px.
func sparkline(days []day, f format, title string) string {
	const h = 20
	step, r := 11, 2.5
	if len(days) > weekDays {
		step, r = 4, 1.6
	}
	w := 10 + (len(days)-1)*step
	var b, line strings.Builder
	var label []string
	fmt.Fprintf(&b, `<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s: `, w, h, w, h, title)
	for _, d := range days {
		label = append(label, f.pct(d.availability))
	}
	b.WriteString(strings.Join(label, ", ") + `">`)
	prev := false
	for i, d := range days {
		if math.IsNaN(d.availability) {
			prev = false
			continue
		}
		x, y := 5+i*step, 2+int(math.Round((1-d.availability)*(h-4)))
		if prev {
			fmt.Fprintf(&line, " L%d %d", x, y)
		} else {
			fmt.Fprintf(&line, " M%d %d", x, y)
		}
		prev = true
		fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="%g" fill="%s" stroke="%s" stroke-width="0.8"/>`, x, y, r, d.status.Colour(), colours.Swatch)
	}
	if line.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1"/>`, strings.TrimSpace(line.String()), colours.Muted)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
