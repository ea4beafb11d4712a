package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
)

func bantenDesa(tb testing.TB) *region.Regions {
	tb.Helper()
	rs, err := region.LoadFile(geotest.File(tb, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// tilesOver lists the tiles of zoom z over bound, in a fixed order.
func tilesOver(bound orb.Bound, z int) []maptile.Tile {
	var out []maptile.Tile
	for t := range tilecover.Bound(bound, maptile.Zoom(z)) {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b maptile.Tile) int { return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y)) })
	return out
}

// TestRegionShapesBudget: a tile's shapes are made once and then served
// from the cache; the cache stays within its budget; budget 0 keeps
// nothing.
func TestRegionShapesBudget(t *testing.T) {
	rs := bantenDesa(t)
	ctx := context.Background()
	tiles := tilesOver(rs.Bound(), 8)
	one := NewRegionShapes(rs, 64<<20)
	first, err := one.Shapes(ctx, tiles[0], 2)
	if err != nil {
		t.Fatal(err)
	}
	if first.Len() == 0 || one.Tiles() != 1 || one.Bytes() != uint64(first.Bytes()) {
		t.Fatalf("after one tile: %d shapes, cache of %d tiles and %d bytes, want the tile's %d bytes", first.Len(), one.Tiles(), one.Bytes(), first.Bytes())
	}
	if again, err := one.Shapes(ctx, tiles[0], 2); err != nil || again != first {
		t.Errorf("the same tile again was made anew (%v)", err)
	}

	// A budget of about one tile: filling it with all four keeps it.
	small := NewRegionShapes(rs, int64(first.Bytes())*3/2)
	for _, at := range tiles {
		if _, err := small.Shapes(ctx, at, 2); err != nil {
			t.Fatal(err)
		}
	}
	if small.Bytes() > uint64(first.Bytes())*3/2 {
		t.Errorf("cache of budget %d holds %d bytes", first.Bytes()*3/2, small.Bytes())
	}

	none := NewRegionShapes(rs, 0)
	a, err := none.Shapes(ctx, tiles[0], 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := none.Shapes(ctx, tiles[0], 2); b == a || none.Tiles() != 0 {
		t.Errorf("budget 0 kept shapes: %d tiles", none.Tiles())
	}
}

// BenchmarkRegionShapesBanten fills a cache with every tile over Banten
// from zoom 6 to 12, each at the level the map shows at its zoom
// (LevelForZoom), and reports what the cache says it holds and what the
// heap grew by.
func BenchmarkRegionShapesBanten(b *testing.B) {
	rs := bantenDesa(b)
	ctx := context.Background()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := NewRegionShapes(rs, 1<<40)
		tiles, features := 0, 0
		for z := 6; z <= 12; z++ {
			level := LevelForZoom(rs.Levels(), z)
			for _, at := range tilesOver(rs.Bound(), z) {
				sh, err := c.Shapes(ctx, at, level)
				if err != nil {
					b.Fatal(err)
				}
				tiles, features = tiles+1, features+sh.Len()
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(tiles), "tiles")
		b.ReportMetric(float64(features), "features")
		b.ReportMetric(float64(c.Bytes()), "cache-bytes")
		b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-bytes")
		runtime.KeepAlive(c)
		fmt.Fprintf(b.Output(), "banten z6-12: %d tiles, %d features, cache weighs %d bytes, heap grew %d\n", tiles, features, c.Bytes(), int64(after.HeapAlloc)-int64(before.HeapAlloc))
	}
}

// TestRegionShapesConcurrent: requests racing for one tile share one
// making and draw the same tile from the shared shapes (run with -race).
func TestRegionShapesConcurrent(t *testing.T) {
	rs := bantenDesa(t)
	c := NewRegionShapes(rs, 64<<20)
	at := maptile.At(orb.Point{106.15, -6.12}, 10)
	var features []draw.MVTFeature
	for _, r := range rs.Level(3) {
		features = append(features, draw.MVTFeature{Key: r.Code, Properties: map[string]any{"code": r.Code}})
	}
	const n = 8
	tiles := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sh, err := c.Shapes(context.Background(), at, 3)
			if err != nil {
				t.Error(err)
				return
			}
			tiles[i], err = draw.EncodeMVT(uint32(at.Z), at.X, at.Y, []draw.MVTLayer{{Name: draw.MVTLayerRegions, Features: features, Shapes: sh}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(tiles[0]) == 0 || c.Tiles() != 1 {
		t.Fatalf("%d bytes, %d tiles cached, want one tile drawn", len(tiles[0]), c.Tiles())
	}
	for i := 1; i < n; i++ {
		if len(tiles[i]) != len(tiles[0]) {
			t.Errorf("request %d drew %d bytes, request 0 %d", i, len(tiles[i]), len(tiles[0]))
		}
	}
}
