package importer

import (
	"testing"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
)

// TestOutside counts the fixtures' rows off Banten's region file, each
// computed by the test from the file's own columns: a code outside
// province 36, a point or a tile centre (tile_x, tile_y) off the bound.
func TestOutside(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := rs.Bound()
	area := Area{Bound: b, Has: func(code string) bool { return rs.Get(code) != nil }}
	off := func(lat, lon float64) bool {
		return lat < b.Min[1] || lat > b.Max[1] || lon < b.Min[0] || lon > b.Max[0]
	}
	for _, tc := range []struct {
		file    string
		kind    evidence.Kind
		outside func(row map[string]string) bool
	}{
		{"podes-2024.csv", evidence.KindPodes, func(r map[string]string) bool { return r["kode_desa"][:2] != "36" }},
		{"speedtests-field-2024.csv", evidence.KindSpeedtest, func(r map[string]string) bool { return off(atof(t, r["lat"]), atof(t, r["lon"])) }},
		{"ookla-mobile-2024q3.csv", evidence.KindOokla, func(r map[string]string) bool { return off(atof(t, r["tile_y"]), atof(t, r["tile_x"])) }},
	} {
		want := 0
		for _, row := range fixtureRows(t, tc.file) {
			if tc.outside(row) {
				want++
			}
		}
		if want == 0 {
			t.Fatalf("%s has no row outside Banten: the test proves nothing", tc.file)
		}
		if got := area.Outside(read(t, tc.kind, tc.file).Observations); got != want {
			t.Errorf("%s: %d outside; want %d", tc.file, got, want)
		}
	}
}
