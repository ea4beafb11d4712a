package region

import (
	"strings"
	"testing"

	"github.com/jangkau/jangkau/geo/geotest"
)

func TestApplyPopulationCSV(t *testing.T) {
	rs, err := LoadFile(geotest.Fixture(t, "province99.geojson"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code := rs.Level(rs.Deepest())[0].Code
	n, err := rs.ApplyPopulationCSV(strings.NewReader("kode,nama,penduduk\n" + code + ",X,1234\n"))
	if err != nil || n != 1 {
		t.Fatalf("ApplyPopulationCSV = %d, %v", n, err)
	}
	if r := rs.Get(code); !r.PopulationKnown || r.Population != 1234 {
		t.Errorf("%s: %+v", code, r)
	}
	for csv, want := range map[string]string{
		"code,people\n":                        "needs a code and a population column",
		"code,population\n99.77,5\n":           `line 2: code "99.77" is not a region`,
		"code,population\n" + code + ",many\n": `population "many"`,
	} {
		if _, err := rs.ApplyPopulationCSV(strings.NewReader(csv)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", csv, err, want)
		}
	}
}
