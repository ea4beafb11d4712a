package draw

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/testenv"
)

// loadTestdata loads one of the hand-made fixtures the geo packages share.
func loadTestdata(t testing.TB, name string) *region.Regions {
	t.Helper()
	rs, err := region.LoadFile(geotest.Fixture(t, name), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// regionLayer is the regions layer as the collector will make it.
func regionLayer(regions []*region.Region) MVTLayer {
	l := MVTLayer{Name: MVTLayerRegions}
	for i, r := range regions {
		l.Features = append(l.Features, MVTFeature{Geometry: r.Geometry, Key: r.Code, Properties: map[string]any{
			"code": r.Code, "name": r.Name, "status": "good", "samples": int64(10 * (i + 1)),
			"availability": 0.5 + float64(i)/4, "population": nil,
		}})
	}
	return l
}

// decode is what a client does: unmarshal, then back to lon/lat.
func decode(t *testing.T, data []byte, tile maptile.Tile) map[string]*mvt.Layer {
	t.Helper()
	ls, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	ls.ProjectToWGS84(tile)
	byName := make(map[string]*mvt.Layer)
	for _, l := range ls {
		if l.Version != 2 || l.Extent != MVTExtent {
			t.Errorf("layer %s: version %d extent %d, want 2 and %d", l.Name, l.Version, l.Extent, MVTExtent)
		}
		byName[l.Name] = l
	}
	return byName
}

// nearBound reports whether two bounds agree within tol degrees.
func nearBound(a, b orb.Bound, tol float64) bool {
	return math.Abs(a.Min[0]-b.Min[0]) <= tol && math.Abs(a.Min[1]-b.Min[1]) <= tol &&
		math.Abs(a.Max[0]-b.Max[0]) <= tol && math.Abs(a.Max[1]-b.Max[1]) <= tol
}

// unit is one extent unit of the tile in degrees of longitude; a decoded
// coordinate is off by at most about one (flooring, then the half-unit
// shift of ProjectToWGS84).
func unit(tile maptile.Tile) float64 { return 360 / math.Exp2(float64(tile.Z)) / MVTExtent }

func TestEncodeMVTFixture(t *testing.T) {
	rs := loadTestdata(t, "tiles.geojson")
	regions := rs.Level(3)
	before := orb.Clone(regions[0].Geometry)
	// 12/3255/2117 holds both squares whole; 15/26042/16942 lies inside
	// the west one; 15/26041/16942 holds its west edge; 15/26045/16942 the
	// east one only.
	tests := []struct {
		tile  maptile.Tile
		codes []string
	}{
		{maptile.New(3255, 2117, 12), []string{"98.01.01", "98.01.02"}},
		{maptile.New(26042, 16942, 15), []string{"98.01.01"}},
		{maptile.New(26041, 16942, 15), []string{"98.01.01"}},
		{maptile.New(26045, 16942, 15), []string{"98.01.02"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.tile), func(t *testing.T) {
			probes := MVTLayer{Name: MVTLayerProbes, Features: []MVTFeature{
				{Geometry: tile.Bound(tc.tile).Center(), Properties: map[string]any{"id": "in-tile", "online": true}},
				{Geometry: orb.Point{100, 0}, Properties: map[string]any{"id": "far-away"}},
			}}
			data, err := EncodeMVT(uint32(tc.tile.Z), tc.tile.X, tc.tile.Y, []MVTLayer{regionLayer(regions), probes})
			if err != nil {
				t.Fatal(err)
			}
			layers := decode(t, data, tc.tile)
			rl := layers[MVTLayerRegions]
			if rl == nil || len(rl.Features) != len(tc.codes) {
				t.Fatalf("regions layer %v, want features %v", rl, tc.codes)
			}
			buffered := tc.tile.Bound(float64(mvtBuffer) / MVTExtent)
			for i, f := range rl.Features {
				code := f.Properties["code"]
				if code != tc.codes[i] {
					t.Errorf("feature %d code %v, want %s", i, code, tc.codes[i])
				}
				r := rs.Get(tc.codes[i])
				want := map[string]any{"code": r.Code, "name": r.Name, "status": "good"}
				for k, v := range want {
					if f.Properties[k] != v {
						t.Errorf("%s: property %s = %v, want %v", r.Code, k, f.Properties[k], v)
					}
				}
				if _, ok := f.Properties["population"]; ok {
					t.Errorf("%s: nil property written", r.Code)
				}
				if _, ok := f.Geometry.(orb.Polygon); !ok {
					t.Fatalf("%s: decoded %T, want Polygon", r.Code, f.Geometry)
				}
				if got, want := f.Geometry.Bound(), clip.Bound(buffered, r.Bound); !nearBound(got, want, 1.5*unit(tc.tile)) {
					t.Errorf("%s: decoded bound %v, want the clipped region's %v", r.Code, got, want)
				}
			}
			pl := layers[MVTLayerProbes]
			if pl == nil || len(pl.Features) != 1 || pl.Features[0].Properties["id"] != "in-tile" || pl.Features[0].Properties["online"] != true {
				t.Errorf("probes layer %+v, want the one probe in the tile", pl)
			}
		})
	}
	if !orb.Equal(before, regions[0].Geometry) {
		t.Error("EncodeMVT modified its input")
	}
}

func TestEncodeMVTRingsAndParts(t *testing.T) {
	// The lake's square at zoom 9 keeps its hole; the island of 99.02.01
	// stays a second polygon of one feature.
	rs := loadTestdata(t, "province99.geojson")
	tests := []struct {
		code  string
		tile  maptile.Tile
		parts []int // rings per decoded polygon
	}{
		{"99.01.01", tile.At(-0.5, 100.5, 9), []int{2}},
		{"99.02.01", tile.At(-1, 102.5, 7), []int{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			data, err := EncodeMVT(uint32(tc.tile.Z), tc.tile.X, tc.tile.Y, []MVTLayer{regionLayer([]*region.Region{rs.Get(tc.code)})})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := mvt.Unmarshal(data)
			if err != nil || len(raw) != 1 || len(raw[0].Features) != 1 {
				t.Fatalf("decoded %v, %v; want one feature", raw, err)
			}
			var parts []int
			for _, p := range region.Polygons(raw[0].Features[0].Geometry) {
				parts = append(parts, len(p))
				for i, r := range p {
					// MVT 2: exterior positive area in tile coordinates.
					if got, want := r.Orientation(), map[bool]orb.Orientation{true: orb.CCW, false: orb.CW}[i == 0]; got != want {
						t.Errorf("ring %d winds %v in tile coordinates, want %v", i, got, want)
					}
				}
			}
			if fmt.Sprint(parts) != fmt.Sprint(tc.parts) {
				t.Errorf("rings per polygon %v, want %v", parts, tc.parts)
			}
		})
	}
}

func TestEncodeMVTEmpty(t *testing.T) {
	rs := loadTestdata(t, "tiles.geojson")
	far := tile.At(51.5, 0, 12)
	data, err := EncodeMVT(uint32(far.Z), far.X, far.Y, []MVTLayer{regionLayer(rs.Level(3)), {Name: MVTLayerProbes}})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 0 {
		t.Errorf("a tile that misses every feature is %d bytes, want 0", len(data))
	}
	if ls, err := mvt.Unmarshal(data); err != nil || len(ls) != 0 {
		t.Errorf("empty tile decodes to %v, %v", ls, err)
	}
}

func TestEncodeMVTErrors(t *testing.T) {
	sq := orb.Bound{Min: orb.Point{106.1, -6.2}, Max: orb.Point{106.2, -6.1}}
	one := func(name string, f MVTFeature) []MVTLayer { return []MVTLayer{{Name: name, Features: []MVTFeature{f}}} }
	tests := []struct {
		name    string
		z, x, y uint32
		layers  []MVTLayer
		want    string
		tileErr bool
	}{
		{"x out of range", 2, 4, 0, nil, "geo: no such tile: 2/4/0 (zoom 0..23, x and y below 2^zoom)", true},
		{"zoom too deep", 24, 0, 0, nil, "geo: no such tile: 24/0/0 (zoom 0..23, x and y below 2^zoom)", true},
		{"empty name", 0, 0, 0, one("", MVTFeature{Geometry: sq}), `geo: mvt: layer name "" is empty or repeated`, false},
		{"repeated name", 0, 0, 0, []MVTLayer{{Name: "a"}, {Name: "a"}}, `geo: mvt: layer name "a" is empty or repeated`, false},
		{"collection", 0, 0, 0, one("a", MVTFeature{Geometry: orb.Collection{sq.Min}}), "geo: mvt: layer a feature 0: a GeometryCollection has no MVT form", false},
		{"property type", 0, 0, 0, one("a", MVTFeature{Geometry: sq.Center(), Properties: map[string]any{"c": complex(1, 2)}}), "geo: mvt: tile 0/0/0: ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeMVT(tc.z, tc.x, tc.y, tc.layers)
			// orb's own message follows the prefix for property errors.
			if err == nil || err.Error() != tc.want && !(strings.HasSuffix(tc.want, ": ") && strings.HasPrefix(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if errors.Is(err, ErrTile) != tc.tileErr {
				t.Errorf("errors.Is(ErrTile) = %v", !tc.tileErr)
			}
		})
	}
}

func TestEncodeMVTBanten(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm3.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kec := regionLayer(rs.Level(3))
	serang := tile.At(-6.12, 106.15, 10)
	data, err := EncodeMVT(uint32(serang.Z), serang.X, serang.Y, []MVTLayer{kec})
	if err != nil {
		t.Fatal(err)
	}
	gz, err := EncodeMVTGzip(uint32(serang.Z), serang.X, serang.Y, []MVTLayer{kec})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, data, serang)[MVTLayerRegions]
	want := 0
	for _, r := range rs.Level(3) {
		if clip.Geometry(serang.Bound(float64(mvtBuffer)/MVTExtent), orb.Clone(r.Geometry)) != nil {
			want++
		}
	}
	if got == nil || len(got.Features) != want {
		t.Fatalf("tile %v has %v features, want the %d kecamatan that reach into it", serang, got, want)
	}
	t.Logf("banten-adm3 tile %d/%d/%d: %d kecamatan, %d bytes, %d gzipped", serang.Z, serang.X, serang.Y, want, len(data), len(gz))
	total, largest := 0, 0
	tiles := 0
	for tile := range tilesOf(rs.Bound(), 10) {
		data, err := EncodeMVT(uint32(tile.Z), tile.X, tile.Y, []MVTLayer{kec})
		if err != nil {
			t.Fatal(err)
		}
		total, largest, tiles = total+len(data), max(largest, len(data)), tiles+1
	}
	t.Logf("banten-adm3 at zoom 10: %d tiles, %d bytes in all, largest %d", tiles, total, largest)
}

func BenchmarkEncodeMVTBanten(b *testing.B) {
	rs, err := region.LoadFile(geotest.File(b, "banten-adm3.geojson"), region.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	layers := []MVTLayer{regionLayer(rs.Level(3))}
	for _, z := range []int{10, tile.DefaultZoom} {
		at := tile.At(-6.12, 106.15, z)
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			var data []byte
			for b.Loop() {
				if data, err = EncodeMVT(uint32(at.Z), at.X, at.Y, layers); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "tile-bytes")
		})
	}
}

// tilesOf lists the tiles of zoom z over bound b.
func tilesOf(b orb.Bound, z int) map[maptile.Tile]bool {
	lo, hi := tile.At(b.Min[1], b.Min[0], z), tile.At(b.Max[1], b.Max[0], z)
	set := make(map[maptile.Tile]bool)
	for x := lo.X; x <= hi.X; x++ {
		for y := hi.Y; y <= lo.Y; y++ {
			set[maptile.New(x, y, maptile.Zoom(z))] = true
		}
	}
	return set
}

// TestEncodeMVTOgrinfo reads a tile with GDAL's MVT driver, as a partner's
// GIS would.
func TestEncodeMVTOgrinfo(t *testing.T) {
	ogrinfo := testenv.LookPath(t, "ogrinfo", "gdal-bin")
	rs := loadTestdata(t, "tiles.geojson")
	tile := maptile.New(3255, 2117, 12)
	probes := MVTLayer{Name: MVTLayerProbes, Features: []MVTFeature{{Geometry: orb.Point{106.12, -6.13}, Properties: map[string]any{"id": "srg-01"}}}}
	data, err := EncodeMVT(uint32(tile.Z), tile.X, tile.Y, []MVTLayer{regionLayer(rs.Level(3)), probes})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tile.mvt")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ogrinfo, "-ro", "-so", "-al",
		"-oo", fmt.Sprintf("X=%d", tile.X), "-oo", fmt.Sprintf("Y=%d", tile.Y), "-oo", fmt.Sprintf("Z=%d", tile.Z),
		path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	counts := make(map[string]string)
	for _, m := range regexp.MustCompile(`(?m)^Layer name: (\S+)\n(?:.*\n)*?Feature Count: (\d+)`).FindAllStringSubmatch(string(out), -1) {
		counts[m[1]] = m[2]
	}
	if want := map[string]string{"regions": "2", "probes": "1"}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("ogrinfo saw layers %v, want %v\n%s", counts, want, out)
	}
	// GDAL projects on its own: the regions' extent in web mercator metres
	// must be the fixture's, within two extent units (about 19 m here).
	m := regexp.MustCompile(`(?m)^Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no extent in ogrinfo output\n%s", out)
	}
	b := rs.Get("98").Bound
	const r = 6378137.0
	mercY := func(lat float64) float64 { return r * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360)) }
	want := []float64{r * b.Min[0] * math.Pi / 180, mercY(b.Min[1]), r * b.Max[0] * math.Pi / 180, mercY(b.Max[1])}
	tol := 2 * 2 * math.Pi * r / math.Exp2(float64(tile.Z)) / MVTExtent
	for i, s := range m[1:] {
		got, _ := strconv.ParseFloat(s, 64)
		if math.Abs(got-want[i]) > tol {
			t.Errorf("ogrinfo extent %v, want %.1f within %.1f m", m[1:], want, tol)
			break
		}
	}
	for _, field := range []string{"code: String", "availability: Real", "samples: Integer"} {
		if !strings.Contains(string(out), field) {
			t.Errorf("ogrinfo output lacks field %q\n%s", field, out)
		}
	}
}

// TestEncodeMVTValidLevels encodes every level of the three Banten files,
// the kabupaten and province that jangkau synthesises included, in every
// tile over Banten at a zoom that shows it, and has GDAL read each tile back
// as a partner's GIS does: GDAL clips features to the tile with GEOS, which
// threw TopologyException on parents whose rings simplification and
// rounding made cross, and GEOS must find every feature valid. The overlap
// of neighbours (sum of areas minus area of their union) is logged: what is
// left is the source's own overlap.
func TestEncodeMVTValidLevels(t *testing.T) {
	ogrinfo := testenv.LookPath(t, "ogrinfo", "gdal-bin")
	// The collector draws kabupaten up to zoom 8, kecamatan to 11, desa
	// from 12 (httpapi.LevelForZoom); the province is the whole map at 7.
	zooms := map[int][]int{1: {6, 7}, 2: {8}, 3: {10}, 4: {12}}
	files := []string{"banten-adm2.geojson", "banten-adm3.geojson", "banten-adm4.geojson"}
	if testing.Short() {
		// The desa file alone has every level, the synthesised ones
		// included; the others add only their source's own polygons.
		files = files[2:]
	}
	for _, file := range files {
		rs, err := region.LoadFile(geotest.File(t, file), region.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, level := range rs.Levels() {
			layer := regionLayer(rs.Level(level))
			var tiles, features, invalid, broken int
			for _, z := range zooms[level] {
				over := rs.Bound()
				if testing.Short() && z >= 12 {
					// Desa tiles over Lebak only, where the source's own
					// invalid desa is.
					over = rs.Get("36.02").Bound
				}
				for at := range tilesOf(over, z) {
					data, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{layer})
					if err != nil {
						t.Fatal(err)
					}
					if len(data) == 0 {
						if want := visibleIn(at, rs.Level(level)); want > 0 {
							t.Errorf("%s level %d tile %d/%d/%d: empty, want the %d regions that cover 1/4096 of the tile", file, level, at.Z, at.X, at.Y, want)
						}
						continue
					}
					path := filepath.Join(t.TempDir(), "tile.mvt")
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					got, topo := ogrNumbers(t, ogrinfo, []string{"-oo", fmt.Sprintf("X=%d", at.X), "-oo", fmt.Sprintf("Y=%d", at.Y), "-oo", fmt.Sprintf("Z=%d", at.Z), path},
						"SELECT COUNT(*) AS n, COUNT(*) - SUM(ST_IsValid(geometry)) AS invalid, SUM(ST_Area(geometry)) AS sum, ST_Area(ST_Union(geometry)) AS u FROM regions")
					tiles++
					features += int(got["n"])
					invalid += int(got["invalid"])
					if topo != "" {
						broken++
						t.Errorf("%s level %d tile %d/%d/%d: GEOS: %s", file, level, at.Z, at.X, at.Y, topo)
					}
					if got["invalid"] != 0 {
						t.Errorf("%s level %d tile %d/%d/%d: GEOS finds %v of %v features invalid", file, level, at.Z, at.X, at.Y, got["invalid"], got["n"])
						continue
					}
					// Every region that covers a visible part of the
					// tile is drawn: a repair must not drop one.
					if want := visibleIn(at, rs.Level(level)); int(got["n"]) < want {
						t.Errorf("%s level %d tile %d/%d/%d: GDAL reads %v features, want at least the %d regions that cover 1/4096 of the tile", file, level, at.Z, at.X, at.Y, got["n"], want)
					}
					tileArea := math.Pow(2*math.Pi*6378137/math.Exp2(float64(at.Z)), 2)
					t.Logf("%s level %d tile %d/%d/%d: %v features, %d bytes, overlap %.1e of the tile", file, level, at.Z, at.X, at.Y, got["n"], len(data), (got["sum"]-got["u"])/tileArea)
				}
			}
			t.Logf("%s level %d at zoom %v: %d tiles, %d features, %d invalid, %d tiles GEOS could not union", file, level, zooms[level], tiles, features, invalid, broken)
		}
	}
}

// visibleIn counts the regions whose area inside tile at is at least
// 1/4096 of the tile's, measured in lon/lat.
func visibleIn(at maptile.Tile, regions []*region.Region) int {
	b := at.Bound()
	n := 0
	for _, r := range regions {
		if !r.Bound.Intersects(b) {
			continue
		}
		if g := clip.Geometry(b, orb.Clone(r.Geometry)); g != nil && planar.Area(g) >= planar.Area(b)/4096 {
			n++
		}
	}
	return n
}

// ogrNumbers runs one SQLite-dialect query that returns one row and reads
// its numeric fields by name, and the TopologyException GEOS threw, if any.
func ogrNumbers(t *testing.T, ogrinfo string, args []string, sql string) (map[string]float64, string) {
	t.Helper()
	cmd := append([]string{"-ro", "-q", "-dialect", "SQLite", "-sql", sql}, args...)
	out, err := exec.Command(ogrinfo, cmd...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %v: %v\n%s", cmd, err, out)
	}
	topo := regexp.MustCompile(`TopologyException[^\n]*`).FindString(string(out))
	vals := make(map[string]float64)
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+) \((?:Integer|Real|Integer64)\) = (\S+)$`).FindAllStringSubmatch(string(out), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("ogrinfo field %q: %v", m[0], err)
		}
		vals[m[1]] = v
	}
	return vals, topo
}

// BenchmarkEncodeMVTBantenLevels encodes every tile over Banten of the levels
// jangkau synthesises from the desa file, at the zoom that shows each:
// the province at 7, kabupaten at 8, kecamatan at 10. cold makes the
// layer's shapes as a first request does, warm draws shapes made before,
// as a request the collector's shape cache answers.
func BenchmarkEncodeMVTBantenLevels(b *testing.B) {
	rs, err := region.LoadFile(geotest.File(b, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, lz := range []struct{ level, zoom int }{{1, 7}, {2, 8}, {3, 10}} {
		layer := regionLayer(rs.Level(lz.level))
		tiles := tilesOf(rs.Bound(), lz.zoom)
		name := fmt.Sprintf("level%d-z%d-%dtiles", lz.level, lz.zoom, len(tiles))
		b.Run(name+"/cold", func(b *testing.B) {
			for b.Loop() {
				for at := range tiles {
					if _, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{layer}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		prepared := make(map[maptile.Tile]MVTLayer)
		for at := range tiles {
			sh, err := PrepareMVTShapes(uint32(at.Z), at.X, at.Y, layer.Features)
			if err != nil {
				b.Fatal(err)
			}
			prepared[at] = MVTLayer{Name: layer.Name, Features: layer.Features, Shapes: sh}
		}
		b.Run(name+"/warm", func(b *testing.B) {
			for b.Loop() {
				for at, l := range prepared {
					if _, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{l}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestEncodeMVTSharedBorder draws two neighbours that share a wiggly
// border, each ring starting at another corner, and checks in the tile's
// own grid that they still tile their box: no sliver between them, no
// overlap. Simplifying each ring on its own moved the border differently
// in each.
func TestEncodeMVTSharedBorder(t *testing.T) {
	at := maptile.New(812, 530, 10)
	b := at.Bound()
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	pt := func(fx, fy float64) orb.Point { return orb.Point{b.Min[0] + fx*w, b.Max[1] - fy*h} }
	// The border runs down the middle, wiggling by a fraction of a grid
	// unit and now and then by several.
	var border []orb.Point
	for i := 0; i <= 400; i++ {
		dx := 0.3 * float64(i%3-1)
		if i%37 == 0 {
			dx = 6
		}
		border = append(border, pt(0.5+dx/4096, 0.1+0.8*float64(i)/400))
	}
	left := orb.Ring{pt(0.1, 0.9), pt(0.1, 0.1)}
	left = append(left, border...)
	left = append(left, pt(0.1, 0.9))
	right := orb.Ring{pt(0.9, 0.1), pt(0.9, 0.9)}
	for i := len(border) - 1; i >= 0; i-- {
		right = append(right, border[i])
	}
	right = append(right, pt(0.9, 0.1))
	data, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{{Name: "regions", Features: []MVTFeature{
		{Geometry: orb.Polygon{left}}, {Geometry: orb.Polygon{right}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := mvt.Unmarshal(data) // tile coordinates: areas are exact
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var union []orb.Point
	for _, f := range ls[0].Features {
		p := f.Geometry.(orb.Polygon)
		sum += ringArea(p[0])
		union = append(union, p[0]...)
	}
	box := orb.MultiPoint(union).Bound()
	if want := (box.Max[0] - box.Min[0]) * (box.Max[1] - box.Min[1]); sum != want {
		t.Errorf("the two halves cover %v square units, their box %v: the shared border was simplified apart", sum, want)
	}
}

// TestEncodeMVTShapes checks that a layer drawn from shapes prepared
// before is the tile EncodeMVT makes from the geometry, with the
// properties of the request, and that shapes only fit their own tile.
func TestEncodeMVTShapes(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm3.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	layer := regionLayer(rs.Level(3))
	var tiles, drawn int
	for at := range tilesOf(rs.Bound(), 9) {
		sh, err := PrepareMVTShapes(uint32(at.Z), at.X, at.Y, layer.Features)
		if err != nil {
			t.Fatal(err)
		}
		// Another request: other figures, geometry left out.
		req := MVTLayer{Name: layer.Name, Shapes: sh}
		for i, f := range layer.Features {
			req.Features = append(req.Features, MVTFeature{Key: f.Key, Properties: map[string]any{"code": f.Key, "samples": int64(i)}})
			layer.Features[i].Properties["samples"] = int64(i)
		}
		want, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{layer})
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeMVT(uint32(at.Z), at.X, at.Y, []MVTLayer{req})
		if err != nil {
			t.Fatal(err)
		}
		tiles++
		if len(want) == 0 {
			if len(got) != 0 || sh.Len() != 0 {
				t.Errorf("tile %d/%d/%d: empty from geometry, %d bytes and %d shapes prepared", at.Z, at.X, at.Y, len(got), sh.Len())
			}
			continue
		}
		drawn++
		wl, gl := decode(t, want, at)[MVTLayerRegions], decode(t, got, at)[MVTLayerRegions]
		if len(wl.Features) != len(gl.Features) || len(gl.Features) != sh.Len() {
			t.Fatalf("tile %d/%d/%d: %d features from geometry, %d from %d shapes", at.Z, at.X, at.Y, len(wl.Features), len(gl.Features), sh.Len())
		}
		for i := range wl.Features {
			w, g := wl.Features[i], gl.Features[i]
			if !orb.Equal(w.Geometry, g.Geometry) || w.Properties["code"] != g.Properties["code"] || w.Properties["samples"] != g.Properties["samples"] {
				t.Errorf("tile %d/%d/%d feature %d: from shapes %v %v, from geometry %v %v", at.Z, at.X, at.Y, i, g.Properties, g.Geometry.Bound(), w.Properties, w.Geometry.Bound())
			}
		}
	}
	if drawn == 0 {
		t.Fatalf("none of %d tiles drawn", tiles)
	}
	sh, err := PrepareMVTShapes(9, 408, 264, layer.Features)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeMVT(9, 409, 264, []MVTLayer{{Name: "regions", Shapes: sh}}); err == nil {
		t.Error("shapes of 9/408/264 drawn in 9/409/264 without an error")
	}
	if _, err := PrepareMVTShapes(9, 408, 264, []MVTFeature{{Key: "a"}, {Key: "a"}}); err == nil {
		t.Error("repeated key prepared without an error")
	}
	t.Logf("%d tiles at zoom 9, %d drawn", tiles, drawn)
}
