package page

import (
	"reflect"
	"testing"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/region"
)

func TestCompare(t *testing.T) {
	cell := func(code string, level int, st coverage.Status) coverage.RegionCell {
		return coverage.RegionCell{Region: &region.Region{Code: code, Name: "R" + code, Level: level}, Status: st}
	}
	const (
		good, degraded, blank = coverage.StatusGood, coverage.StatusDegraded, coverage.StatusBlank
		silent, unmeasured    = coverage.StatusSilent, coverage.StatusUnmeasured
	)
	prev := []coverage.RegionCell{
		cell("36.02", 2, good), cell("36.01", 2, good), cell("36.03", 2, blank), cell("36.04", 2, degraded),
		cell("36.05", 2, blank), cell("36.06", 2, unmeasured), cell("36.07", 2, good), cell("36.01.01", 3, degraded),
		cell("36.08", 2, silent),
	}
	cur := []coverage.RegionCell{
		cell("36.01.01", 3, blank), // worse, listed after the kabupaten
		cell("36.02", 2, degraded), // worse
		cell("36.01", 2, silent),   // worse
		cell("36.03", 2, good),     // better
		cell("36.04", 2, degraded), // same
		cell("36.05", 2, silent),   // blank and silent are equally bad
		cell("36.06", 2, blank),    // was not measured: no change
		cell("36.07", 2, unmeasured),
		cell("36.09", 2, blank), // not in prev
		cell("36.08", 2, degraded),
	}
	better, worse := Compare(prev, cur)
	codes := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Code+":"+string(c.Before)+">"+string(c.After))
		}
		return out
	}
	if got, want := codes(better), []string{"36.03:blank>good", "36.08:silent>degraded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("better %v, want %v", got, want)
	}
	if got, want := codes(worse), []string{"36.01:good>silent", "36.02:good>degraded", "36.01.01:degraded>blank"}; !reflect.DeepEqual(got, want) {
		t.Errorf("worse %v, want %v", got, want)
	}
	if got, want := ChangeTexts(worse[:1], "en"), []string{"R36.01 (36.01, kabupaten/kota): good → silent"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ChangeTexts %q, want %q", got, want)
	}
}
