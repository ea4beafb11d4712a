package stamps

import (
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// TestWroteRange: a span stamps each of its minutes and the hours that
// hold them, and nothing around it.
func TestWroteRange(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := New()
	first, last := t0.Add(58*time.Minute), t0.Add(61*time.Minute) // 08:58 .. 09:01
	s.WroteRange(7, first.UnixNano(), last.UnixNano())
	for _, tc := range []struct {
		res      time.Duration
		from, to time.Time
		want     uint64
	}{
		{rollup.Minute, first, first.Add(time.Minute), 7},
		{rollup.Minute, last, last.Add(time.Minute), 7},
		{rollup.Minute, t0.Add(59 * time.Minute), t0.Add(60 * time.Minute), 7},
		{rollup.Minute, t0, first, 0},
		{rollup.Minute, last.Add(time.Minute), last.Add(time.Hour), 0},
		{rollup.Hour, t0, t0.Add(time.Hour), 7},
		{rollup.Hour, t0.Add(time.Hour), t0.Add(2 * time.Hour), 7},
		{rollup.Hour, t0.Add(2 * time.Hour), t0.Add(3 * time.Hour), 0},
		{rollup.Hour, t0.Add(-time.Hour), t0, 0},
	} {
		if g := s.Get(tc.res, tc.from, tc.to); g != tc.want {
			t.Errorf("Get(%s, %s, %s) = %d, want %d", tc.res, tc.from.Format("15:04"), tc.to.Format("15:04"), g, tc.want)
		}
	}
}
