package partner

import (
	"context"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/tile"
)

// blankspot is a blank or silent region or tile.
type blankspot struct {
	ID       string // "region-<code>" or "tile-<quadkey>"
	Kind     string // region or tile
	Code     string // region code or quadkey
	Name     string
	Level    int // region level, or the tile's zoom
	Status   coverage.Status
	People   int64
	Since    time.Time // zero: unknown (a silent region that never reported)
	Samples  int
	Avail    float64
	Geometry orb.Geometry
	// The evidence about it (evidence.Combine): the verdict, the class it
	// rests on, how many sources say something, whether a carrier's claim
	// there is disputed. Empty where no evidence is summarized (regions
	// above the desa).
	Verdict  evidence.Verdict
	Basis    evidence.Class
	Sources  int
	Disputed bool
}

var blankspotColumns = []string{"id", "kind", "code", "name", "level", "status", "people_affected", "since",
	"samples", "availability", "verdict", "basis", "evidence", "disputed", "wkt"}

func (b blankspot) properties() geojson.Properties {
	p := geojson.Properties{"id": b.ID, "kind": b.Kind, "code": b.Code, "name": b.Name, "level": b.Level,
		"status": string(b.Status), "people_affected": b.People, "since": nil,
		"samples": b.Samples, "availability": httpapi.Nullable(b.Avail),
		"verdict": nil, "basis": nil, "evidence": b.Sources, "disputed": b.Disputed}
	if b.Verdict != "" {
		p["verdict"] = string(b.Verdict)
	}
	if b.Basis != "" {
		p["basis"] = string(b.Basis)
	}
	if !b.Since.IsZero() {
		p["since"] = b.Since.UTC().Format(time.RFC3339)
	}
	return p
}

func (b blankspot) feature() *geojson.Feature {
	f := geojson.NewFeature(b.Geometry)
	f.ID = b.ID
	f.Properties = realProperties(b.properties())
	return f
}

// blankspots finds the blank and silent regions of q.Level and the blank
// tiles at the configured zoom, within the scope, with the evidence about
// each and, at the desa level, the desa the evidence alone finds without
// signal (withEvidence); sorted by people affected (most first), then by
// the strength of the evidence (measured, reported, claimed, none).
//
// Since when: a silent region is silent since its probes' last report (the
// last batch that stored anything). A blank region or tile is blank since
// the start of its current streak: walking back from now over hour rollups
// (at most blankLookback), every hour with results that is blank
// (availability below status.blank_below, or mean loss at or above
// status.blank_loss) extends the streak, an hour without results neither
// extends nor breaks it, and the first hour that is not blank ends it. The
// streak's first hour is then refined to the minute the same way over
// minute rollups. Only the partner's results count, as everywhere.
func (s *API) blankspots(ctx context.Context, q exportQuery) ([]blankspot, error) {
	cells, err := s.scopedRegions(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []blankspot
	blankRegions := map[string]bool{}
	for _, c := range cells {
		if c.Status != coverage.StatusBlank && c.Status != coverage.StatusSilent {
			continue
		}
		b := blankspot{ID: "region-" + c.Region.Code, Kind: "region", Code: c.Region.Code, Name: c.Region.Name,
			Level: c.Region.Level, Status: c.Status, People: c.PeopleAffected, Samples: c.Samples,
			Avail: c.Availability, Geometry: c.Region.Geometry}
		if c.Status == coverage.StatusSilent {
			b.Since = c.LastSeen
		} else {
			blankRegions[c.Region.Code] = true
		}
		out = append(out, b)
	}
	z := s.r.TileZoom()
	tiles, err := s.r.Engine().Tiles(ctx, s.scopedSource(q), z, orb.Bound{}, q.Query)
	if err != nil {
		return nil, err
	}
	blankTiles := map[string]bool{}
	density := s.densities(ctx, q)
	for _, t := range tiles {
		if t.Status != coverage.StatusBlank {
			continue
		}
		poly := tile.Polygon(t.Tile)
		out = append(out, blankspot{ID: "tile-" + t.Quadkey, Kind: "tile", Code: t.Quadkey, Level: z,
			Status: t.Status, People: density.people(poly), Samples: t.Samples, Avail: t.Availability, Geometry: poly})
		blankTiles[t.Quadkey] = true
	}
	level := q.Level
	since, err := coverage.BlankSince(ctx, s.scopedSource(q), s.r.Engine().Thresholds(), q.Query, func(c rollup.Cell) []string {
		var keys []string
		if code := codeAt(c.Region, level); blankRegions[code] {
			keys = append(keys, "region-"+code)
		}
		if len(c.Tile) >= z && blankTiles[c.Tile[:z]] {
			keys = append(keys, "tile-"+c.Tile[:z])
		}
		return keys
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if t, ok := since[out[i].ID]; ok {
			out[i].Since = t
		}
	}
	if out, err = s.withEvidence(ctx, q, cells, out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].People != out[j].People {
			return out[i].People > out[j].People
		}
		if a, b := strength(out[i].Basis), strength(out[j].Basis); a != b {
			return a > b
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// strength orders the evidence a blank spot rests on: measured, reported,
// claimed, none.
func strength(c evidence.Class) int {
	switch c {
	case evidence.ClassMeasured:
		return 3
	case evidence.ClassReported:
		return 2
	case evidence.ClassClaimed:
		return 1
	}
	return 0
}

// evidenceReader is the collector's evidence, when it keeps any: every
// desa's and measured tile's summary from the partner's own measurements
// and the evidence layers, findings of carriers outside carrierOK dropped.
type evidenceReader interface {
	EvidenceSummaries(ctx context.Context, feed coverage.Feed, probes []coverage.Probe, q coverage.Query,
		carrierOK func(string) bool) (desa, tiles []evidence.Summary, err error)
}

// withEvidence fills the evidence columns of the blank spots and, at the
// desa level, adds the desa the evidence says have no signal (verdict
// none) though the probes never found them blank: the blank spots no
// probe stands in, with their people as the people affected.
func (s *API) withEvidence(ctx context.Context, q exportQuery, cells []coverage.RegionCell, out []blankspot) ([]blankspot, error) {
	er, ok := s.r.(evidenceReader)
	if !ok {
		return out, nil
	}
	probes, err := s.scopedProbes(ctx, q)
	if err != nil {
		return nil, err
	}
	carrierOK := func(c string) bool { return q.sc.carrierOK(c) && (q.Carrier == "" || c == q.Carrier) }
	desa, tiles, err := er.EvidenceSummaries(ctx, s.scopedSource(q), probes, q.Query, carrierOK)
	if err != nil {
		return nil, err
	}
	sums := make(map[string]*evidence.Summary, len(desa)+len(tiles))
	for i := range desa {
		sums["region-"+desa[i].Region] = &desa[i]
	}
	for i := range tiles {
		sums["tile-"+tiles[i].Quadkey] = &tiles[i]
	}
	listed := map[string]bool{}
	for i := range out {
		listed[out[i].ID] = true
		if sum := sums[out[i].ID]; sum != nil {
			out[i].Verdict, out[i].Basis, out[i].Sources, out[i].Disputed = sum.Verdict, sum.Basis, sum.Sources(), sum.Disputed()
		}
	}
	if q.Level != s.r.Regions().Deepest() {
		return out, nil
	}
	for _, c := range cells {
		sum := sums["region-"+c.Region.Code]
		if sum == nil || sum.Verdict != evidence.VerdictNone || listed["region-"+c.Region.Code] {
			continue
		}
		b := blankspot{ID: "region-" + c.Region.Code, Kind: "region", Code: c.Region.Code, Name: c.Region.Name,
			Level: c.Region.Level, Status: c.Status, Samples: c.Samples, Avail: c.Availability, Geometry: c.Region.Geometry,
			Verdict: sum.Verdict, Basis: sum.Basis, Sources: sum.Sources(), Disputed: sum.Disputed()}
		if c.PopulationKnown {
			b.People = c.Population
		}
		out = append(out, b)
	}
	return out, nil
}

// codeAt is code's ancestor (or itself) at level, "" above it.
func codeAt(code string, level int) string {
	parts := strings.SplitN(code, ".", level+1)
	if len(parts) < level {
		return ""
	}
	return strings.Join(parts[:level], ".")
}

// densityIndex estimates the people in a tile from the population density
// of the deepest region under its centre: people spread evenly, as in the
// region estimates.
type densityIndex struct {
	s   *API
	pop map[string]float64 // people per square metre, by deepest code
}

func (s *API) densities(ctx context.Context, q exportQuery) densityIndex {
	d := densityIndex{s: s, pop: map[string]float64{}}
	deep := q
	deep.Level = s.r.Regions().Deepest()
	cells, err := s.r.Engine().Regions(ctx, coverage.Source(func(context.Context, time.Duration, time.Time, time.Time, func(coverage.Row) error) error {
		return nil // only the population estimates are wanted
	}), nil, deep.Level, deep.Query)
	if err != nil {
		return d
	}
	for _, c := range cells {
		if area := geo.Area(c.Region.Geometry); c.PopulationKnown && area > 0 {
			d.pop[c.Region.Code] = float64(c.Population) / area
		}
	}
	return d
}

func (d densityIndex) people(tile orb.Polygon) int64 {
	c := tile.Bound().Center()
	r := d.s.r.Regions().Locate(c.Lat(), c.Lon())
	if r == nil {
		return 0
	}
	return int64(math.Round(d.pop[r.Code] * geo.Area(tile)))
}

// exportBlankspots serves GET /api/v1/export/blankspots.
func (s *API) exportBlankspots(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	httpapi.Serve(w, r, "export blankspots", s.r.StoreFailed, s.parser(sc, s.r.Regions().Deepest()), s.blankspots,
		func(w http.ResponseWriter, q exportQuery, spots []blankspot) {
			a.rows = len(spots)
			if q.Format == "csv" {
				httpapi.CSV(w, blankspotColumns, len(spots), func(i int) []string {
					p := spots[i].properties()
					p["wkt"] = httpapi.WKT(spots[i].Geometry)
					return httpapi.Row(p, blankspotColumns)
				})
				return
			}
			fc := geojson.NewFeatureCollection()
			for _, b := range spots {
				fc.Append(b.feature())
			}
			httpapi.GeoJSON(w, fc, q.View)
		})
}
