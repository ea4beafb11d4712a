package importer

import (
	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/tile"
)

// Area is what a collector's region file covers, to count the rows of an
// import that fall outside it. Such rows are imported (a region file may
// grow later) but no view shows them.
type Area struct {
	Bound orb.Bound
	// Has says whether the region file holds a region code.
	Has func(code string) bool
}

// Outside counts the observations outside the area: a desa code the
// region file does not hold, a tile that does not touch its bound, a
// point off its bound.
func (a Area) Outside(obs []evidence.Observation) int {
	n := 0
	for i := range obs {
		if !a.inside(&obs[i]) {
			n++
		}
	}
	return n
}

func (a Area) inside(o *evidence.Observation) bool {
	switch {
	case o.Region != "":
		return a.Has != nil && a.Has(o.Region)
	case o.Quadkey != "":
		t, err := tile.ParseQuadkey(o.Quadkey)
		return err == nil && a.Bound.Intersects(tile.Bound(t))
	case o.HasPoint():
		return a.Bound.Contains(orb.Point{o.Lon, o.Lat})
	}
	return false
}
