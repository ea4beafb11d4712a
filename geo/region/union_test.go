package region

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/geojson"
	"github.com/peterstace/simplefeatures/geom"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/internal/testenv"
)

// TestBantenValidGeometry loads each Banten file as the deepest level and
// has GEOS (through GDAL's ogrinfo, as a partner's GIS would) judge every
// region of every level, real and synthesised: a parent must be one valid
// area, the union of its children, and an invalid source polygon must have
// been repaired.
func TestBantenValidGeometry(t *testing.T) {
	ogrinfo := testenv.LookPath(t, "ogrinfo", "gdal-bin")
	for _, tc := range []struct {
		file       string
		counts     map[int]int // regions per level
		pandeglang float64     // km2 of 36.01 in the shared README (ADM2 figure)
	}{
		{"banten-adm2.geojson", map[int]int{1: 1, 2: 8}, 2793.6},
		{"banten-adm3.geojson", map[int]int{1: 1, 2: 8, 3: 155}, 2793.6},
		{"banten-adm4.geojson", map[int]int{1: 1, 2: 8, 3: 155, 4: 1552}, 2793.6},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rs, err := LoadFile(geotest.File(t, tc.file), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for level, want := range tc.counts {
				list := rs.Level(level)
				if len(list) != want {
					t.Errorf("level %d: %d regions, want %d", level, len(list), want)
				}
				if bad := geosInvalid(t, ogrinfo, list); bad != 0 {
					t.Errorf("level %d: GEOS finds %d of %d regions invalid", level, bad, len(list))
				}
				if level == rs.Deepest() {
					continue
				}
				// The parent must cover what GEOS's union of its children
				// covers. Not their sum: the Banten kecamatan overlap each
				// other by up to 2.5% of a kabupaten.
				want := geosUnionAreas(t, ogrinfo, rs.Level(level+1))
				for _, p := range list {
					if got := planarArea(p.Geometry); math.Abs(got-want[p.Code]) > 1e-4*want[p.Code] {
						t.Errorf("%s: area %.8f deg2, GEOS's union of its children %.8f", p.Code, got, want[p.Code])
					}
				}
			}
			if got := geo.Area(rs.Get("36.01").Geometry) / 1e6; math.Abs(got-tc.pandeglang) > 0.01*tc.pandeglang {
				t.Errorf("36.01 Pandeglang %.1f km2, want %.1f within 1%%", got, tc.pandeglang)
			}
		})
	}
}

// geosInvalid counts the regions GEOS calls invalid.
func geosInvalid(t *testing.T, ogrinfo string, regions []*Region) int {
	t.Helper()
	rows := ogrSQL(t, ogrinfo, regions, "SELECT 'all' AS k, COUNT(*) - SUM(ST_IsValid(geometry)) AS v FROM regions")
	return int(rows["all"])
}

// geosUnionAreas is GEOS's area of the union of regions, by parent code.
func geosUnionAreas(t *testing.T, ogrinfo string, regions []*Region) map[string]float64 {
	t.Helper()
	return ogrSQL(t, ogrinfo, regions, "SELECT parent AS k, ST_Area(ST_Union(geometry)) AS v FROM regions GROUP BY parent")
}

// ogrSQL writes regions as GeoJSON (properties code and parent) and runs
// one SQLite-dialect query whose rows are k (text) and v (number).
func ogrSQL(t *testing.T, ogrinfo string, regions []*Region, sql string) map[string]float64 {
	t.Helper()
	fc := geojson.NewFeatureCollection()
	for _, r := range regions {
		f := geojson.NewFeature(r.Geometry)
		f.Properties["code"] = r.Code
		f.Properties["parent"] = Parent(r.Code)
		fc.Append(f)
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "regions.geojson")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ogrinfo, "-q", "-dialect", "SQLite", "-sql", sql, path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	rows := make(map[string]float64)
	for _, m := range regexp.MustCompile(`k \(String\) = (\S*)\n\s*v \((?:Integer|Real)\) = (\S+)`).FindAllStringSubmatch(string(out), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("ogrinfo row %q: %v", m[0], err)
		}
		rows[m[1]] = v
	}
	if len(rows) == 0 {
		t.Fatalf("no rows in ogrinfo output\n%s", out)
	}
	return rows
}

// TestMakeValidTwist checks the repair of a ring that crosses itself, as
// Douglas-Peucker simplification leaves them: both lobes are kept, as GEOS's
// MakeValid keeps them, and the result is valid.
func TestMakeValidTwist(t *testing.T) {
	twisted := orb.Polygon{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 6}, {-1, 4}, {-1, 6}, {0, 4}, {0, 0}}}
	rs, err := New([]*Region{{Code: "1.1", Geometry: twisted}, {Code: "1.2", Geometry: orb.Polygon{{{10, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 0}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Repairs(); len(got) != 1 || got[0].Code != "1.1" || got[0].Problem == "" {
		t.Errorf("Repairs() = %v, want one for 1.1", got)
	}
	for code, want := range map[string]float64{"1.1": 101, "1": 201} {
		g := rs.Get(code).Geometry
		if err := toSF(g).Validate(); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if a := planarArea(g); math.Abs(a-want) > 1e-9 {
			t.Errorf("%s: area %v, want %v", code, a, want)
		}
	}
	if n := len(Polygons(rs.Get("1").Geometry)); n != 2 {
		t.Errorf("province has %d polygons, want the square pair merged and the lobe apart: 2", n)
	}
}

func planarArea(g orb.Geometry) float64 {
	a := 0.0
	for _, p := range Polygons(g) {
		for i, r := range p {
			s := math.Abs(ringArea(r))
			if i > 0 {
				s = -s
			}
			a += s
		}
	}
	return a
}

func ringArea(r orb.Ring) float64 {
	a := 0.0
	for i := 1; i < len(r); i++ {
		a += r[i-1][0]*r[i][1] - r[i][0]*r[i-1][1]
	}
	return a / 2
}

// BenchmarkLoadBantenADM4 is the load of the desa file, which the
// collector and the demo pay at start: 1552 desa, 155 kecamatan, 8
// kabupaten and the province unioned.
func BenchmarkLoadBantenADM4(b *testing.B) {
	path := geotest.File(b, "banten-adm4.geojson")
	for b.Loop() {
		if _, err := LoadFile(path, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnionSetsFreeHolesAside checks that keeping the holes no other child
// reaches out of the overlay leaves each parent the exact union of its
// children: the symmetric difference with the plain overlay of the whole
// children has no area.
func TestUnionSetsFreeHolesAside(t *testing.T) {
	rs, err := LoadFile(geotest.File(t, "banten-adm4.geojson"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var aside int
	for _, level := range []int{1, 2, 3} {
		for _, parent := range rs.Level(level) {
			var kids []*Region
			var gs []geom.Geometry
			for _, k := range rs.Level(level + 1) {
				if Parent(k.Code) == parent.Code {
					kids = append(kids, k)
					gs = append(gs, toSF(k.Geometry))
				}
			}
			polys := make([][]orb.Polygon, len(kids))
			for i, k := range kids {
				polys[i] = Polygons(k.Geometry)
			}
			aside += len(freeHoles(polys))
			plain, err := geom.UnionMany(gs)
			if err != nil {
				t.Fatal(err)
			}
			diff, err := geom.SymmetricDifference(plain, toSF(parent.Geometry))
			if err != nil {
				t.Fatal(err)
			}
			if a, whole := diff.Area(), plain.Area(); a > whole*1e-12 {
				t.Errorf("region %s: the union with holes set aside differs from the plain union by %g of %g", parent.Code, a, whole)
			}
			if err := toSF(parent.Geometry).Validate(); err != nil {
				t.Errorf("region %s: %v", parent.Code, err)
			}
		}
	}
	if aside == 0 {
		t.Fatal("no hole was set aside: the test checks nothing")
	}
	t.Logf("%d holes set aside", aside)
}
