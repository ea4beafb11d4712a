package tile

import (
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// DefaultZoom is the zoom of a map cell when none is asked for. A zoom-15
// tile is 40,075 km / 2^15 ≈ 1,223 m wide at the equator, about 1.2 km
// across at Banten's latitude (6° S, cos ≈ 0.994): fine enough to show which
// part of a kecamatan is blank, coarse enough that a handful of probes or a
// survey drive gives each cell a few samples. Ookla's open data uses zoom 16
// (about 610 m); each zoom-15 tile holds exactly four of those, whose
// quadkeys start with the zoom-15 quadkey, so the two join by prefix.
const DefaultZoom = 15

// MaxZoom is the finest zoom jangkau accepts. It is the deepest level of
// Bing's tile system, whose quadkeys Ookla publishes (23 digits, tiles of
// about 5 m), and far below anything a coverage map needs; capping it keeps
// tile covers and quadkeys from being asked for at absurd sizes.
const MaxZoom = 23

// ErrQuadkey is wrapped by every quadkey parse error, so that an API can
// answer 400 without matching texts.
var ErrQuadkey = errors.New("geo: invalid quadkey")

// At returns the web-mercator tile of zoom z that holds the point. Points
// off the mercator square (beyond ±85.0511° latitude, or on the 180th
// meridian) snap to the nearest edge tile, so every finite point has a valid
// tile. NaN has no tile: callers must reject it first, and get the tile at
// x = 0 or y = 0 if they do not. It panics if z is outside 0..MaxZoom, which
// only code, never input, can get wrong.
func At(lat, lon float64, z int) maptile.Tile {
	checkZoom(z)
	f := maptile.Fraction(orb.Point{lon, lat}, maptile.Zoom(z))
	n := float64(uint32(1) << z)
	return maptile.Tile{X: tileIndex(f[0], n), Y: tileIndex(f[1], n), Z: maptile.Zoom(z)}
}

// tileIndex clamps a tile fraction into 0..n-1.
func tileIndex(f, n float64) uint32 {
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= n {
		return uint32(n) - 1
	}
	return uint32(f)
}

func checkZoom(z int) {
	if z < 0 || z > MaxZoom {
		panic(fmt.Sprintf("geo: zoom %d outside 0..%d", z, MaxZoom))
	}
}

// Quadkey is the tile's key in Bing's tile system, one digit 0-3 per zoom
// level from the top, as Ookla's open data identifies its tiles. A key's
// prefixes are its ancestors, so a shorter key selects a whole area. The
// zoom-0 tile, the whole world, has the empty key.
func Quadkey(t maptile.Tile) string {
	key := make([]byte, t.Z)
	for i := range key {
		bit := uint32(1) << (int(t.Z) - 1 - i)
		d := byte('0')
		if t.X&bit != 0 {
			d++
		}
		if t.Y&bit != 0 {
			d += 2
		}
		key[i] = d
	}
	return string(key)
}

// ParseQuadkey is the inverse of Quadkey. It takes 1 to MaxZoom digits: an
// empty key is refused because a whole-world cell is more likely a missing
// parameter than a request.
func ParseQuadkey(s string) (maptile.Tile, error) {
	if s == "" {
		return maptile.Tile{}, fmt.Errorf("%w: empty", ErrQuadkey)
	}
	if len(s) > MaxZoom {
		return maptile.Tile{}, fmt.Errorf("%w %.30q: %d digits, at most %d", ErrQuadkey, s, len(s), MaxZoom)
	}
	t := maptile.Tile{Z: maptile.Zoom(len(s))}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '3' {
			return maptile.Tile{}, fmt.Errorf("%w %q: character %q at %d is not a digit 0-3", ErrQuadkey, s, c, i)
		}
		t.X = t.X<<1 | uint32(c-'0')&1
		t.Y = t.Y<<1 | uint32(c-'0')>>1
	}
	return t, nil
}

// Bound is the tile's extent in lon/lat: tiles are squares in mercator,
// so their corners are exact and their edges follow meridians and parallels.
func Bound(t maptile.Tile) orb.Bound { return t.Bound() }

// Polygon is the tile as a GeoJSON-ready polygon (exterior ring
// counter-clockwise, RFC 7946), for exports that draw tiles as cells.
func Polygon(t maptile.Tile) orb.Polygon { return t.Bound().ToPolygon() }

// SizeMetres is the approximate width of a tile of zoom z at latitude
// lat on the ground, for labels and for choosing a zoom; mercator stretches
// tiles by 1/cos(lat), so they shrink towards the poles.
func SizeMetres(lat float64, z int) float64 {
	const equator = 2 * math.Pi * 6378137 // WGS 84 semi-major axis
	return equator * math.Cos(lat*math.Pi/180) / math.Exp2(float64(z))
}
