package tile

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
)

func loadTestdata(t testing.TB, name string) *region.Regions {
	t.Helper()
	rs, err := region.LoadFile(geotest.Fixture(t, name), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// rect lists the tiles of zoom z from the tile of (north, west) to that of
// (south, east), from Bing's formulae (tile_test.go), not from the code.
func rect(north, west, south, east float64, z int) []maptile.Tile {
	x0, y0 := bingTile(north, west, z)
	x1, y1 := bingTile(south, east, z)
	var tiles []maptile.Tile
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			tiles = append(tiles, maptile.New(uint32(x), uint32(y), maptile.Zoom(z)))
		}
	}
	return tiles
}

func sameTiles(t *testing.T, what string, got, want []maptile.Tile) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	less := func(a, b maptile.Tile) int { return strings.Compare(Quadkey(a), Quadkey(b)) }
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d tiles %v, want %d %v", what, len(got), got, len(want), want)
	}
}

func TestCoverSquares(t *testing.T) {
	// Two squares near Serang sharing the meridian 106.129, whose zoom-15
	// column x=26044 both reach into (edges are off tile lines on purpose).
	ti := NewIndex(loadTestdata(t, "tiles.geojson"))
	c, err := ti.Cover(3, DefaultZoom)
	if err != nil {
		t.Fatal(err)
	}
	west := rect(-6.117, 106.101, -6.139, 106.129, DefaultZoom)
	east := rect(-6.117, 106.129, -6.139, 106.151, DefaultZoom)
	if len(west) != 12 || len(east) != 9 {
		t.Fatalf("hand count: west %d east %d tiles, want 4x3 and 3x3", len(west), len(east))
	}
	sameTiles(t, "98.01.01", c.Tiles("98.01.01"), west)
	sameTiles(t, "98.01.02", c.Tiles("98.01.02"), east)
	if got := c.NumTiles(); got != 18 {
		t.Errorf("NumTiles = %d, want 18 (12 + 9 - 3 shared)", got)
	}
	for _, tile := range west {
		want := []string{"98.01.01"}
		if tile.X == 26044 {
			want = append(want, "98.01.02")
		}
		if got := c.Regions(tile); !slices.Equal(got, want) {
			t.Errorf("Regions(%s) = %v, want %v", Quadkey(tile), got, want)
		}
	}
	if got := c.Tiles("98.01.01"); !slices.IsSortedFunc(got, func(a, b maptile.Tile) int {
		return strings.Compare(Quadkey(a), Quadkey(b))
	}) {
		t.Errorf("tiles not in quadkey order: %v", got)
	}
	// The kabupaten, built from both, covers their union.
	kab, err := ti.Cover(2, DefaultZoom)
	if err != nil {
		t.Fatal(err)
	}
	sameTiles(t, "98.01", kab.Tiles("98.01"), rect(-6.117, 106.101, -6.139, 106.151, DefaultZoom))

	// Measured share: one result in the shared column measures both.
	measured := maptile.Set{west[3]: true, west[0]: true}
	if n, total := c.Measured("98.01.01", measured); n != 2 || total != 12 {
		t.Errorf("west measured %d of %d, want 2 of 12", n, total)
	}
	if n, total := c.Measured("98.01.02", measured); n != 1 || total != 9 {
		t.Errorf("east measured %d of %d, want 1 of 9", n, total)
	}
	if n, total := c.Measured("99", measured); n != 0 || total != 0 {
		t.Errorf("unknown region measured %d of %d", n, total)
	}
}

func TestCoverHole(t *testing.T) {
	// 99.01.01 is a 1° square with a 0.2° hole (a lake); at zoom 12 (about
	// 0.088° tiles) some tiles lie wholly in the lake and must be left out.
	c, err := NewIndex(loadTestdata(t, "province99.geojson")).Cover(3, 12)
	if err != nil {
		t.Fatal(err)
	}
	hole := orb.Bound{Min: orb.Point{100.4, -0.6}, Max: orb.Point{100.6, -0.4}}
	inLake := 0
	for _, tile := range rect(0, 100, -1, 101, 12) {
		b := Bound(tile)
		lake := hole.Contains(b.Min) && hole.Contains(b.Max)
		got := slices.Contains(c.Regions(tile), "99.01.01")
		if lake {
			inLake++
		}
		if got == lake {
			t.Errorf("tile %s (in lake %v): in cover %v", Quadkey(tile), lake, got)
		}
	}
	if inLake == 0 {
		t.Fatal("no tile lies wholly in the lake: the test checks nothing")
	}
	checkCover(t, c, loadTestdata(t, "province99.geojson"))
}

// checkCover asserts what holds for every cover: each tile reaches into its
// region, and the two directions agree.
func checkCover(t *testing.T, c *Cover, rs *region.Regions) {
	t.Helper()
	pairs := 0
	for _, r := range rs.Level(c.Level()) {
		tiles := c.Tiles(r.Code)
		if len(tiles) == 0 {
			t.Errorf("%s has no tiles", r.Code)
		}
		for _, tile := range tiles {
			if int(tile.Z) != c.Zoom() {
				t.Fatalf("%s: tile %v of zoom %d in a zoom %d cover", r.Code, tile, tile.Z, c.Zoom())
			}
			b := Bound(tile).Pad(1e-9)
			if !b.Intersects(r.Bound) || clip.Geometry(b, orb.Clone(r.Geometry)) == nil {
				t.Errorf("%s: tile %s misses the region", r.Code, Quadkey(tile))
			}
			if !slices.Contains(c.Regions(tile), r.Code) {
				t.Errorf("%s: tile %s does not list it back (%v)", r.Code, Quadkey(tile), c.Regions(tile))
			}
		}
		pairs += len(tiles)
	}
	back := 0
	for tile, codes := range c.byTile {
		back += len(codes)
		if !slices.IsSorted(codes) {
			t.Errorf("tile %s: codes %v not sorted", Quadkey(tile), codes)
		}
	}
	if back != pairs {
		t.Errorf("%d region→tile pairs, %d tile→region pairs", pairs, back)
	}
}

func TestIndexErrors(t *testing.T) {
	ti := NewIndex(loadTestdata(t, "province99.geojson"))
	tests := []struct {
		name        string
		level, zoom int
		want        string
	}{
		{"no such level", 4, 10, "geo: tile cover: no regions at level 4 (levels [1 2 3])"},
		{"negative zoom", 3, -1, "geo: tile cover: zoom -1 outside 0..23"},
		{"zoom too deep", 3, 24, "geo: tile cover: zoom 24 outside 0..23"},
		{"too many tiles", 1, 20, "geo: tile cover of level 1 at zoom 20: 61097844 tiles in its regions' bounds, at most 8388608"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ti.Cover(tc.level, tc.zoom)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Cover(%d, %d) = %v, %v; want error %q", tc.level, tc.zoom, c, err, tc.want)
			}
		})
	}
	if len(ti.covers) != 0 {
		t.Errorf("bad arguments left %d entries in the index", len(ti.covers))
	}
}

func TestIndexConcurrent(t *testing.T) {
	ti := NewIndex(loadTestdata(t, "province99.geojson"))
	const n = 16
	got := make([]*Cover, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := ti.Cover(1+i%3, 9)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for i := 3; i < n; i++ {
		if got[i] != got[i%3] {
			t.Errorf("call %d got another cover than call %d: computed twice", i, i%3)
		}
	}
}

func TestCoverBanten(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm3.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ti := NewIndex(rs)
	c, err := ti.Cover(3, DefaultZoom)
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, c, rs)
	border := 0
	for _, codes := range c.tiles() {
		if len(codes) > 1 {
			border++
		}
	}
	share := float64(border) / float64(c.NumTiles())
	t.Logf("banten-adm3 zoom %d: %d tiles, %d on a border (%.1f%%)", DefaultZoom, c.NumTiles(), border, 100*share)
	if share < 0.30 || share > 0.42 {
		t.Errorf("border share %.3f is not the third Cover.Measured documents", share)
	}
	// A kabupaten is synthesised from its kecamatan: its cover is theirs.
	kab, err := ti.Cover(2, DefaultZoom)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range rs.Level(2) {
		var union []maptile.Tile
		for _, kec := range rs.Level(3) {
			if region.Parent(kec.Code) == k.Code {
				union = append(union, c.Tiles(kec.Code)...)
			}
		}
		slices.SortFunc(union, func(a, b maptile.Tile) int { return strings.Compare(Quadkey(a), Quadkey(b)) })
		sameTiles(t, k.Code, kab.Tiles(k.Code), slices.Compact(union))
	}
}

func BenchmarkCoverBanten(b *testing.B) {
	rs, err := region.LoadFile(geotest.File(b, "banten-adm3.geojson"), region.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, z := range []int{DefaultZoom, 16} {
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			var c *Cover
			for b.Loop() {
				// Uncached on purpose: the cost of an Index's first call.
				c, err = computeCover(rs.Level(3), 3, z)
				if err != nil {
					b.Fatal(err)
				}
			}
			pairs := 0
			for _, r := range rs.Level(3) {
				pairs += len(c.Tiles(r.Code))
			}
			b.ReportMetric(float64(c.NumTiles()), "tiles")
			b.ReportMetric(float64(pairs), "region-tiles")
		})
	}
}

// TestCoverFarApartIslands: a country whose islands lie far apart (as
// Indonesia's, 46° from west to east) is covered at zoom 15; only the
// regions' own boxes count against maxCoverTiles, not the level's box.
func TestCoverFarApartIslands(t *testing.T) {
	sq := func(x, y float64) orb.Polygon {
		return orb.Polygon{{{x, y}, {x + 0.05, y}, {x + 0.05, y + 0.05}, {x, y + 0.05}, {x, y}}}
	}
	rs, err := region.New([]*region.Region{
		{Code: "11.01", Geometry: sq(95.3, 5.5)},
		{Code: "94.01", Geometry: sq(140.7, -8.5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewIndex(rs).Cover(2, DefaultZoom)
	if err != nil {
		t.Fatalf("cover of two islands 46° apart at zoom %d: %v", DefaultZoom, err)
	}
	for _, code := range []string{"11.01", "94.01"} {
		if n := len(c.Tiles(code)); n < 4 || n > 64 {
			t.Errorf("%s: %d tiles, want the 4 to 64 of a 0.05° square at zoom %d", code, n, DefaultZoom)
		}
	}
}
