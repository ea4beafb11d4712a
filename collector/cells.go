package collector

import (
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// cellOf says where a result was measured: at its own location in survey
// mode, else where its probe stands. A check without a service measures
// the uplink.
func (s *Server) cellOf(p *placedProbe, r *wire.Result) rollup.Cell {
	c := rollup.Cell{Region: p.Region, Tile: p.Tile, Carrier: p.Carrier, Service: r.Service, Kind: r.Kind, Probe: p.ID}
	if c.Service == "" {
		c.Service = rollup.Uplink
	}
	if l := r.Location; l != nil {
		c.Tile = tile.Quadkey(tile.At(l.Lat, l.Lon, s.cfg.Tiles.Zoom))
		if reg := s.regions.Locate(l.Lat, l.Lon); reg != nil {
			c.Region = reg.Code
		}
	}
	return c
}
