package collector

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
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
}

// errScope is a request for data outside a partner's scope. Its message
// names the scope, never whether such data exists.
type errScope struct{ msg string }

func (e errScope) Error() string { return e.msg }

func (sc *scope) carrierOK(c string) bool { return sc.carriers == nil || sc.carriers[c] }

// exportQuery is a coverage query narrowed to a scope and the request's
// own filters.
type exportQuery struct {
	viewQuery
	sc     *scope
	region string // the request's region prefix, "" for the whole scope
}

// parseExport reads a coverage view's parameters plus region, and refuses
// a carrier or region outside the scope.
func (s *Server) parseExport(r *http.Request, sc *scope, defaultLevel int) (exportQuery, error) {
	v, err := s.parseView(r, defaultLevel)
	if err != nil {
		return exportQuery{}, badRequest{err}
	}
	q := exportQuery{viewQuery: v, sc: sc, region: r.URL.Query().Get("region")}
	return q, q.check()
}

// check refuses filters outside the scope; the 403 names the filter.
func (q exportQuery) check() error {
	if q.Carrier != "" && !q.sc.carrierOK(q.Carrier) {
		return errScope{fmt.Sprintf("carrier %q is outside partner %s's scope", q.Carrier, q.sc.name)}
	}
	if q.region != "" {
		if !regionCodeRE.MatchString(q.region) {
			return badRequest{fmt.Errorf("region %q is not a region code like 36.01", q.region)}
		}
		if !withinAny(q.region, q.sc.regions) {
			return errScope{fmt.Sprintf("region %q is outside partner %s's scope", q.region, q.sc.name)}
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

// source is the store's rollups with every row outside the scope dropped.
func (s *Server) scopedSource(q exportQuery) coverage.Source {
	src := s.source()
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
func (s *Server) scopedProbes(ctx context.Context, q exportQuery) ([]coverage.Probe, error) {
	all, err := s.coverageProbes(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if q.sc.carrierOK(p.Carrier) && withinAny(p.Region, q.sc.regions) && q.regionOK(p.Region) &&
			(q.Carrier == "" || p.Carrier == q.Carrier) {
			out = append(out, p)
		}
	}
	return out, nil
}

// scopedRegions computes a level within the scope and keeps the visible
// regions.
func (s *Server) scopedRegions(ctx context.Context, q exportQuery) ([]coverage.RegionCell, error) {
	probes, err := s.scopedProbes(ctx, q)
	if err != nil {
		return nil, err
	}
	cells, err := s.engine.Regions(ctx, s.scopedSource(q), probes, q.Level, q.Query)
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

// exportFailed answers a bad request, a scope refusal or a store failure.
func (s *Server) exportFailed(w http.ResponseWriter, op string, err error) {
	var es errScope
	switch {
	case asScope(err, &es):
		httpError(w, http.StatusForbidden, es.msg)
	case isBadRequest(err):
		httpError(w, http.StatusBadRequest, err.Error())
	default:
		s.storeFailed(w, op, err)
	}
}

func asScope(err error, es *errScope) bool {
	e, ok := err.(errScope)
	if ok {
		*es = e
	}
	return ok
}

// badRequest marks an error of the request's parameters.
type badRequest struct{ error }

func isBadRequest(err error) bool {
	_, ok := err.(badRequest)
	return ok
}
