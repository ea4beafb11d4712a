package collector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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
			if regions.Get(pc.Region) == nil {
				return nil, fmt.Errorf("probes[%d].region %q of %s is not in the regions file: %s", i, pc.Region, pc.ID, nearestCodes(regions, pc.Region))
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

// nearestCodes says what the regions file has near a code it lacks: the
// codes of the same level that share the most leading parts with it, the
// closest in number first, so that a typo (36.99.01 for 36.09.01) shows
// its fix. A probe placed above its real region would count only there,
// and its kabupaten would stay unmeasured.
func nearestCodes(regions *region.Regions, code string) string {
	level := region.CodeLevel(code)
	same := regions.Level(level)
	if len(same) == 0 {
		return fmt.Sprintf("it has no regions of level %d; its deepest level is %d: write a code of that level, or give a location instead", level, regions.Deepest())
	}
	want := strings.Split(code, ".")
	type cand struct {
		code   string
		shared int
		dist   int
	}
	cands := make([]cand, 0, len(same))
	for _, r := range same {
		parts := strings.Split(r.Code, ".")
		c := cand{code: r.Code}
		for c.shared < min(len(parts), len(want)) && parts[c.shared] == want[c.shared] {
			c.shared++
		}
		if c.shared < min(len(parts), len(want)) {
			a, _ := strconv.Atoi(parts[c.shared])
			b, _ := strconv.Atoi(want[c.shared])
			c.dist = max(a-b, b-a)
		}
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.shared != b.shared {
			return b.shared - a.shared
		}
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.code, b.code)
	})
	near := make([]string, 0, 3)
	for _, c := range cands[:min(3, len(cands))] {
		near = append(near, c.code)
	}
	return "the nearest codes it has are " + strings.Join(near, ", ")
}
