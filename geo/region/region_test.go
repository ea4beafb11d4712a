package region

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/geo/geotest"
)

func loadFixture(t testing.TB) *Regions {
	t.Helper()
	rs, err := LoadFile(geotest.Fixture(t, "province99.geojson"), LoadOptions{PopulationProperty: "pop"})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestLoadFixture(t *testing.T) {
	rs := loadFixture(t)
	if got := rs.Levels(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Levels() = %v, want [1 2 3]", got)
	}
	if got := rs.Deepest(); got != 3 {
		t.Errorf("Deepest() = %d, want 3", got)
	}
	if got := rs.Bound(); got != (orb.Bound{Min: orb.Point{100, -1.8}, Max: orb.Point{104, 0}}) {
		t.Errorf("Bound() = %v", got)
	}
	tests := []struct {
		code, name string
		level      int
		pop        int64
		synthetic  bool
		polygons   int
	}{
		{"99", "Provinsi Uji", 1, 10000, true, 2}, // the children merged: mainland and island
		{"99.01", "Kabupaten Satu", 2, 3000, true, 1},
		{"99.02", "Kota Dua", 2, 7000, true, 2},
		{"99.01.01", "Danau", 3, 1000, false, 1},
		{"99.01.02", "A & <B>", 3, 2000, false, 1}, // population given as a string
		{"99.02.01", "Pulau", 3, 3000, false, 2},
		{"99.02.02", "Timur", 3, 4000, false, 1}, // code from the feature id
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			r := rs.Get(tc.code)
			if r == nil {
				t.Fatalf("Get(%q) = nil", tc.code)
			}
			if r.Name != tc.name || r.Level != tc.level || r.Synthetic != tc.synthetic {
				t.Errorf("got name %q level %d synthetic %v, want %q %d %v", r.Name, r.Level, r.Synthetic, tc.name, tc.level, tc.synthetic)
			}
			if !r.PopulationKnown || r.Population != tc.pop {
				t.Errorf("population %d (known %v), want %d", r.Population, r.PopulationKnown, tc.pop)
			}
			if got := len(Polygons(r.Geometry)); got != tc.polygons {
				t.Errorf("%d polygons, want %d", got, tc.polygons)
			}
		})
	}
	if got := codes(rs.Level(2)); !slices.Equal(got, []string{"99.01", "99.02"}) {
		t.Errorf("Level(2) = %v", got)
	}
	if rs.Level(4) != nil || rs.Get("99.03") != nil {
		t.Error("unknown level or code should give nil")
	}
}

func TestLoadWithoutPopulation(t *testing.T) {
	rs, err := LoadFile(geotest.Fixture(t, "province99.geojson"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"99", "99.01", "99.01.01"} {
		if r := rs.Get(code); r.PopulationKnown || r.Population != 0 {
			t.Errorf("%s: population %d known %v, want unknown", code, r.Population, r.PopulationKnown)
		}
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		file, wantErr string
	}{
		{"missing-code", `feature 1: property "kode" missing`},
		{"empty-code", `feature 0: property "kode" is empty`},
		{"empty-segment", `feature 0: code "99..01" has an empty segment`},
		{"letters", `feature 0: code "99.0a": segment "0a" is not all digits`},
		{"numeric-code", `feature 0: property "kode" is float64, not a string`},
		{"duplicate", `feature 2: duplicate code "99.01" (first in feature 0)`},
		{"point", `feature 0 (99.01): geometry Point is not Polygon or MultiPolygon`},
		{"no-geometry", `feature 0 (99.01): geometry missing`},
		{"short-ring", `feature 0 (99.01): polygon 0 ring 0 has 3 positions`},
		{"population-word", `feature 0 (99.01): property "pop": value "banyak" is not a number`},
		{"population-negative", `feature 0 (99.01): property "pop": value -5 is not a whole non-negative number`},
		{"population-fraction", `feature 0 (99.01): property "pop": value 12.5 is not a whole`},
		{"feature", `GeoJSON type "Feature" is not FeatureCollection`},
		{"truncated", `decode GeoJSON: unexpected EOF`},
		{"empty", `no features`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file+".bad.geojson")
			_, err := LoadFile(path, LoadOptions{PopulationProperty: "pop"})
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			want := "load regions " + path + ": " + tc.wantErr
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", err, want)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.geojson")
	_, err := LoadFile(path, LoadOptions{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want ErrNotExist naming %s", err, path)
	}
}

func TestCodes(t *testing.T) {
	tests := []struct {
		code, parent string
		level        int
	}{
		{"36", "", 1},
		{"36.01", "36", 2},
		{"36.01.05", "36.01", 3},
		{"36.01.05.2003", "36.01.05", 4},
		{"", "", 0},
	}
	for _, tc := range tests {
		if got := Parent(tc.code); got != tc.parent {
			t.Errorf("Parent(%q) = %q, want %q", tc.code, got, tc.parent)
		}
		if got := CodeLevel(tc.code); got != tc.level {
			t.Errorf("CodeLevel(%q) = %d, want %d", tc.code, got, tc.level)
		}
	}
	within := []struct {
		code, ancestor string
		want           bool
	}{
		{"36.01", "36", true},
		{"36.01.05.2003", "36.01", true},
		{"36", "36", true},
		{"36", "36.01", false},
		{"360.01", "36", false},
		{"36.010", "36.01", false},
		{"37.01", "36", false},
	}
	for _, tc := range within {
		if got := Within(tc.code, tc.ancestor); got != tc.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tc.code, tc.ancestor, got, tc.want)
		}
	}
}

func square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

func TestNew(t *testing.T) {
	rs, err := New([]*Region{
		{Code: "7.1.1", Geometry: square(0, 0, 1, 1), Population: 5, PopulationKnown: true},
		{Code: "7.1.2", Geometry: square(1, 0, 2, 1)}, // unknown: the roll-up must not guess
		{Code: "7.2", Name: "Dua", Geometry: square(2, 0, 3, 1), Population: 9, PopulationKnown: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs.Get("7.1"); r == nil || !r.Synthetic || r.Name != "7.1" || r.PopulationKnown {
		t.Errorf("7.1 = %+v, want synthetic, named by code, population unknown", r)
	}
	if r := rs.Get("7"); r == nil || r.PopulationKnown || r.Bound != (orb.Bound{Max: orb.Point{3, 1}}) {
		t.Errorf("7 = %+v", r)
	}
	if rs.Deepest() != 3 || rs.Get("7.2").Level != 2 || rs.Get("7.1.1").Name != "7.1.1" {
		t.Error("levels or default names not filled in")
	}
	// Mixed depths: the leaf 7.2 is what Locate finds there.
	if r := rs.Locate(0.5, 2.5); r == nil || r.Code != "7.2" {
		t.Errorf("Locate in 7.2 = %v", r)
	}

	// A file with a kecamatan and some of its desa: the desa where there is
	// one, the kecamatan elsewhere.
	rs, err = New([]*Region{
		{Code: "8.1.1", Geometry: square(0, 0, 4, 4)},
		{Code: "8.1.1.1", Geometry: square(0, 0, 1, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lat, lon float64
		want     string
	}{{0.5, 0.5, "8.1.1.1"}, {2, 2, "8.1.1"}} {
		if r := rs.Locate(tc.lat, tc.lon); r == nil || r.Code != tc.want {
			t.Errorf("Locate(%g, %g) = %v, want %s", tc.lat, tc.lon, r, tc.want)
		}
	}

	bad := []struct {
		name    string
		regions []*Region
		wantErr string
	}{
		{"empty", nil, "no regions"},
		{"no code", []*Region{{Geometry: square(0, 0, 1, 1)}}, "region 0: code is empty"},
		{"bad code", []*Region{{Code: "7.x", Geometry: square(0, 0, 1, 1)}}, `region 0: code "7.x": segment "x" is not all digits`},
		{"duplicate", []*Region{{Code: "7", Geometry: square(0, 0, 1, 1)}, {Code: "7", Geometry: square(0, 0, 1, 1)}}, `region 1: duplicate code "7"`},
		{"line", []*Region{{Code: "7", Geometry: orb.LineString{{0, 0}, {1, 1}}}}, "region 0 (7): geometry LineString is not Polygon or MultiPolygon"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.regions)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadBantenADM3(t *testing.T) {
	rs, err := LoadFile(geotest.File(t, "banten-adm3.geojson"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Levels(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Levels() = %v", got)
	}
	if n := len(rs.Level(3)); n != 155 {
		t.Errorf("%d kecamatan, want 155", n)
	}
	kab := rs.Level(2)
	want := []string{"36.01", "36.02", "36.03", "36.04", "36.71", "36.72", "36.73", "36.74"}
	if got := codes(kab); !slices.Equal(got, want) {
		t.Errorf("kabupaten %v, want %v", got, want)
	}
	for _, r := range kab {
		if !r.Synthetic || r.Name == r.Code || r.PopulationKnown {
			t.Errorf("%s: %+v, want synthetic with a name from kab_nama and no population", r.Code, r)
		}
	}
	if n := rs.Get("36.01").Name; !strings.Contains(strings.ToUpper(n), "PANDEGLANG") {
		t.Errorf("36.01 named %q", n)
	}
	prov := rs.Level(1)
	if len(prov) != 1 || prov[0].Code != "36" || !strings.EqualFold(prov[0].Name, "Banten") {
		t.Errorf("level 1 = %+v", prov)
	}
	// Merged, the 155 kecamatan leave the mainland and the islands.
	if n := len(Polygons(prov[0].Geometry)); n >= 155 {
		t.Errorf("province has %d polygons, want its kecamatan merged", n)
	}
}

func codes(list []*Region) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.Code)
	}
	return out
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func TestAncestor(t *testing.T) {
	for _, tc := range []struct {
		code  string
		level int
		want  string
	}{
		{"36.01.05.2003", 1, "36"}, {"36.01.05.2003", 2, "36.01"}, {"36.01.05.2003", 3, "36.01.05"},
		{"36.01.05.2003", 4, "36.01.05.2003"}, {"36.01", 3, ""}, {"36", 2, ""}, {"", 1, ""}, {"36.01", 0, ""},
	} {
		if got := Ancestor(tc.code, tc.level); got != tc.want {
			t.Errorf("Ancestor(%q, %d) = %q, want %q", tc.code, tc.level, got, tc.want)
		}
	}
}
