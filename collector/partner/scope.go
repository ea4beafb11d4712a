package partner

import (
	"context"
	"net/http"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
)

// scope is what one partner may read. It is enforced on the data source,
// before any aggregation: a figure over a kabupaten counts only the
// partner's carriers and regions, so no total, count or status ever
// carries another carrier's results.
type scope struct {
	name     string
	carriers map[string]bool // nil: every carrier
	regions  []string        // code prefixes; nil: every region
	raw      bool
	submit   bool        // may submit claims for its carriers
	claims   ClaimLimits // with defaults
}

func (sc *scope) carrierOK(c string) bool { return sc.carriers == nil || sc.carriers[c] }

// exportQuery is a coverage query narrowed to a scope and the request's
// own filters.
type exportQuery struct {
	httpapi.View
	sc     *scope
	region string // the request's region prefix, "" for the whole scope
}

// parseExport reads a coverage view's parameters plus region, and refuses
// a carrier or region outside the scope.
func (s *API) parseExport(r *http.Request, sc *scope, defaultLevel int) (exportQuery, error) {
	v, err := httpapi.ParseView(r, s.r.Now(), s.r.Regions(), defaultLevel)
	if err != nil {
		return exportQuery{}, err
	}
	q := exportQuery{View: v, sc: sc, region: r.URL.Query().Get("region")}
	return q, q.check()
}

// parser is parseExport for httpapi.Serve.
func (s *API) parser(sc *scope, defaultLevel int) func(*http.Request) (exportQuery, error) {
	return func(r *http.Request) (exportQuery, error) { return s.parseExport(r, sc, defaultLevel) }
}

// check refuses filters outside the scope; the 403 names the filter.
func (q exportQuery) check() error {
	if q.Carrier != "" && !q.sc.carrierOK(q.Carrier) {
		return &httpapi.ScopeError{Partner: q.sc.name, Field: "carrier", Value: q.Carrier}
	}
	if q.region != "" {
		if !httpapi.ValidRegionCode(q.region) {
			return httpapi.Invalid("region", q.region, "region %q is not a region code like 36.01", q.region)
		}
		if !withinAny(q.region, q.sc.regions) {
			return &httpapi.ScopeError{Partner: q.sc.name, Field: "region", Value: q.region}
		}
	}
	return nil
}

// cellOK says whether a rollup cell is inside the scope and the request.
func (q exportQuery) cellOK(c rollup.Cell) bool {
	return q.sc.carrierOK(c.Carrier) && withinAny(c.Region, q.sc.regions) && q.regionOK(c.Region)
}

func (q exportQuery) regionOK(code string) bool {
	return q.region == "" || withinAny(code, []string{q.region})
}

// visible says whether a region is listed: inside the scope and the
// request's region. A region above the scope is not listed, since its
// figures would be only the partner's part of it.
func (q exportQuery) visible(code string) bool {
	return withinAny(code, q.sc.regions) && q.regionOK(code)
}

// probeOK says whether a probe of carrier in region is inside the scope
// and the request.
func (q exportQuery) probeOK(carrier, region string) bool {
	return q.sc.carrierOK(carrier) && withinAny(region, q.sc.regions) && q.regionOK(region) &&
		(q.Carrier == "" || carrier == q.Carrier)
}

// scopedSource is the store's rollups with every row outside the scope dropped.
func (s *API) scopedSource(q exportQuery) coverage.Source {
	src := s.r.Rollups()
	return func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return src.Rows(ctx, res, from, to, func(r coverage.Row) error {
			if !q.cellOK(r.Cell) {
				return nil
			}
			return fn(r)
		})
	}
}

// scopedProbes are the registered probes inside the scope, so that a
// region with only another carrier's probe is unmeasured, not silent.
func (s *API) scopedProbes(ctx context.Context, q exportQuery) ([]coverage.Probe, error) {
	all, err := s.r.Probes(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if q.probeOK(p.Carrier, p.Region) {
			out = append(out, p)
		}
	}
	return out, nil
}

// scopedRegions computes a level within the scope and keeps the visible
// regions.
func (s *API) scopedRegions(ctx context.Context, q exportQuery) ([]coverage.RegionCell, error) {
	probes, err := s.scopedProbes(ctx, q)
	if err != nil {
		return nil, err
	}
	cells, err := s.r.Engine().Regions(ctx, s.scopedSource(q), probes, q.Level, q.Query)
	if err != nil {
		return nil, err
	}
	out := cells[:0]
	for _, c := range cells {
		if q.visible(c.Region.Code) {
			out = append(out, c)
		}
	}
	return out, nil
}
