package collector

import (
	"fmt"
	"sync/atomic"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// placedProbe is a registered probe with the region it stands in.
type placedProbe struct {
	ID       string
	Region   string // deepest region code known for it
	Carrier  string
	Location *Location
	Tile     string // quadkey of its location at the configured zoom; "" without one

	// version is the probe_version of the last batch this collector took
	// from it; nil until then (or for a probe older than the field).
	version atomic.Pointer[string]
	// names bounds the names it may introduce (ingest_names.go).
	names probeNames
	// boots are the boot ids its batches came with, ingest_epoch.go.
	boots senders
}

// noteVersion keeps the version a probe's batch named, if any.
func (p *placedProbe) noteVersion(v string) {
	if v != "" {
		p.version.Store(&v)
	}
}

// registry is the probes of the config, placed on the region set.
type registry struct {
	list   []*placedProbe
	byID   map[string]*placedProbe
	tokens apikey.Ring
}

// newRegistry places every probe: by its region code, or by point in
// polygon on the deepest level when it gives only a location.
func newRegistry(probes []ProbeConfig, regions *region.Regions, zoom int) (*registry, error) {
	reg := &registry{byID: map[string]*placedProbe{}}
	seen := map[string]string{}
	for i, pc := range probes {
		if other, dup := seen[pc.TokenSHA256]; dup {
			return nil, fmt.Errorf("probes[%d].token_sha256 is the same as probe %s's: every probe needs its own token", i, other)
		}
		seen[pc.TokenSHA256] = pc.ID
		p := &placedProbe{ID: pc.ID, Region: pc.Region, Carrier: pc.Carrier, Location: pc.Location}
		if l := pc.Location; l != nil {
			p.Tile = tile.Quadkey(tile.At(l.Lat, l.Lon, zoom))
		}
		switch {
		case pc.Region != "":
			if !knownOrBelowKnown(regions, pc.Region) {
				return nil, fmt.Errorf("probes[%d].region %q: neither it nor any region above it is in the regions file", i, pc.Region)
			}
		default:
			r := regions.Locate(pc.Location.Lat, pc.Location.Lon)
			if r == nil {
				return nil, fmt.Errorf("probes[%d].location (%g, %g) of %s is outside every region of the regions file", i, pc.Location.Lat, pc.Location.Lon, pc.ID)
			}
			p.Region = r.Code
		}
		reg.list = append(reg.list, p)
		reg.byID[p.ID] = p
		reg.tokens.Add(p.ID, pc.TokenSHA256)
	}
	return reg, nil
}

func knownOrBelowKnown(regions *region.Regions, code string) bool {
	for c := code; c != ""; c = region.Parent(c) {
		if regions.Get(c) != nil {
			return true
		}
	}
	return false
}
