package tile

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

// bingTile and bingQuadkey follow "Bing Maps Tile System" (Microsoft,
// LatLongToPixelXY, PixelXYToTileXY, TileXYToQuadKey) step by step, pixels
// and all, so that the expectations do not come from the code under test.
func bingTile(lat, lon float64, level int) (x, y int) {
	lat = math.Max(-85.05112878, math.Min(85.05112878, lat))
	lon = math.Max(-180, math.Min(180, lon))
	fx := (lon + 180) / 360
	sinLat := math.Sin(lat * math.Pi / 180)
	fy := 0.5 - math.Log((1+sinLat)/(1-sinLat))/(4*math.Pi)
	mapSize := float64(uint(256) << level)
	px := math.Max(0, math.Min(mapSize-1, fx*mapSize+0.5))
	py := math.Max(0, math.Min(mapSize-1, fy*mapSize+0.5))
	return int(px) / 256, int(py) / 256
}

func bingQuadkey(x, y, level int) string {
	var key []byte
	for i := level; i > 0; i-- {
		digit := byte('0')
		mask := 1 << (i - 1)
		if x&mask != 0 {
			digit++
		}
		if y&mask != 0 {
			digit += 2
		}
		key = append(key, digit)
	}
	return string(key)
}

func TestQuadkeyPublishedExample(t *testing.T) {
	// The worked example of the Bing Maps Tile System article.
	tile := maptile.New(3, 5, 3)
	if got := Quadkey(tile); got != "213" {
		t.Errorf("Quadkey(3/5 at 3) = %q, want 213", got)
	}
	if got, err := ParseQuadkey("213"); err != nil || got != tile {
		t.Errorf("ParseQuadkey(213) = %v, %v; want %v", got, err, tile)
	}
}

func TestAtAndQuadkey(t *testing.T) {
	// Every place lies more than half a Bing pixel from a tile edge, where
	// Bing's pixel rounding and exact tile fractions could disagree.
	places := []struct {
		name     string
		lat, lon float64
	}{
		{"Jakarta Monas", -6.1754, 106.8272},
		{"Serang alun-alun", -6.1200, 106.1503},
		{"Pandeglang", -6.3086, 106.1034},
		{"Ujung Kulon", -6.7850, 105.3760},
		{"Paris", 48.8566, 2.3522},
		{"south-west", -33.9, -70.6},
	}
	for _, p := range places {
		for _, z := range []int{1, 10, DefaultZoom, 16, MaxZoom} {
			t.Run(p.name+"/z"+strconv.Itoa(z), func(t *testing.T) {
				tile := At(p.lat, p.lon, z)
				x, y := bingTile(p.lat, p.lon, z)
				if int(tile.X) != x || int(tile.Y) != y || int(tile.Z) != z {
					t.Fatalf("At = %d/%d/%d, Bing gives %d/%d/%d", tile.Z, tile.X, tile.Y, z, x, y)
				}
				key := Quadkey(tile)
				if want := bingQuadkey(x, y, z); key != want {
					t.Fatalf("Quadkey = %q, Bing gives %q", key, want)
				}
				back, err := ParseQuadkey(key)
				if err != nil || back != tile {
					t.Fatalf("ParseQuadkey(%q) = %v, %v; want %v", key, back, err, tile)
				}
				if !Bound(tile).Contains(orb.Point{p.lon, p.lat}) {
					t.Errorf("bound %v does not contain the point", Bound(tile))
				}
			})
		}
	}
}

func TestQuadkeyOokla(t *testing.T) {
	// Ookla's zoom-16 tile over Serang: 16 digits, and its first 15 are the
	// zoom-15 cell jangkau draws.
	k16 := Quadkey(At(-6.1200, 106.1503, 16))
	k15 := Quadkey(At(-6.1200, 106.1503, DefaultZoom))
	if len(k16) != 16 || k16[:15] != k15 {
		t.Errorf("zoom 16 key %q, zoom 15 key %q: want 16 digits extending the other", k16, k15)
	}
	// Every quadkey of a zoom-2 square round-trips, in Bing's order.
	for y := uint32(0); y < 4; y++ {
		for x := uint32(0); x < 4; x++ {
			tile := maptile.New(x, y, 2)
			if got, want := Quadkey(tile), bingQuadkey(int(x), int(y), 2); got != want {
				t.Errorf("Quadkey(%v) = %q, want %q", tile, got, want)
			}
		}
	}
	if got := Quadkey(maptile.New(0, 0, 0)); got != "" {
		t.Errorf("zoom 0 quadkey = %q, want empty", got)
	}
}

func TestParseQuadkeyErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", `geo: invalid quadkey: empty`},
		{"digit 4", "0124", `geo: invalid quadkey "0124": character '4' at 3 is not a digit 0-3`},
		{"letter", "a", `geo: invalid quadkey "a": character 'a' at 0 is not a digit 0-3`},
		{"space", "12 3", `geo: invalid quadkey "12 3": character ' ' at 2 is not a digit 0-3`},
		{"sign", "-1", `geo: invalid quadkey "-1": character '-' at 0 is not a digit 0-3`},
		{"too long", "000000000000000000000000", `geo: invalid quadkey "000000000000000000000000": 24 digits, at most 23`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQuadkey(tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrQuadkey) {
				t.Errorf("%v is not ErrQuadkey", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestAtEdges(t *testing.T) {
	last := uint32(1)<<DefaultZoom - 1
	tests := []struct {
		name     string
		lat, lon float64
		x, y     uint32
	}{
		{"north pole", 90, 0, 1 << (DefaultZoom - 1), 0},
		{"south pole", -90, 0, 1 << (DefaultZoom - 1), last},
		{"antimeridian east", 0, 180, last, 1 << (DefaultZoom - 1)},
		{"antimeridian west", 0, -180, 0, 1 << (DefaultZoom - 1)},
		{"NaN", math.NaN(), math.NaN(), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := At(tc.lat, tc.lon, DefaultZoom)
			if got.X != tc.x || got.Y != tc.y || !got.Valid() {
				t.Errorf("At(%g, %g) = %v, want x=%d y=%d", tc.lat, tc.lon, got, tc.x, tc.y)
			}
		})
	}
	for _, z := range []int{-1, MaxZoom + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("At at zoom %d did not panic", z)
				}
			}()
			At(0, 0, z)
		}()
	}
}

func TestTileShape(t *testing.T) {
	tile := At(-6.12, 106.15, DefaultZoom)
	p := Polygon(tile)
	if len(p) != 1 || len(p[0]) != 5 || p[0].Orientation() != orb.CCW {
		t.Fatalf("Polygon = %v, want one closed counter-clockwise ring", p)
	}
	if got, want := planar.Area(p), Bound(tile).ToPolygon(); got != planar.Area(want) {
		t.Errorf("polygon area %g differs from its bound's", got)
	}
	// The zoom-15 cell is about 1.2 km across here, as DefaultZoom says.
	if m := SizeMetres(-6.12, DefaultZoom); m < 1200 || m > 1230 {
		t.Errorf("zoom 15 tile at 6° S is %.0f m, want about 1.2 km", m)
	}
}
