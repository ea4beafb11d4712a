package interop

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestOWSLib reads the desa collection with OWSLib as a partner's Python
// would: paging through all of it, a bbox query, and the queryables that
// tell it which properties it may filter on and their types.
func TestOWSLib(t *testing.T) {
	c := startCollector(t)
	py := debianPython(t, "owslib.ogcapi.features", "python3-owslib")
	const coll = "regions-4"
	minLon, minLat, maxLon, maxLat := 180.0, 90.0, -180.0, -90.0
	for _, p := range pandeglangPoints(c) {
		minLon, minLat, maxLon, maxLat = min(minLon, p[0]), min(minLat, p[1]), max(maxLon, p[0]), max(maxLat, p[1])
	}
	bbox := []float64{minLon - 0.01, minLat - 0.01, maxLon + 0.01, maxLat + 0.01}
	var res struct {
		Paged                                   []string
		Pages                                   int
		BBox                                    []string
		Queryables                              map[string]string
		PagingError, BBoxError, QueryablesError string
	}
	runClient(t, 5*time.Minute, nil, map[string]any{
		"url": c.base + "/ogc", "key": c.partners["owslib"], "collection": coll, "limit": 100, "bbox": bbox,
	}, &res, py, "owslib_check.py")

	all := codes(c.ogcFeatures(t, coll, ""))
	if res.PagingError != "" {
		t.Errorf("paging through %s: %s", coll, res.PagingError)
	}
	if got := dedupe(res.Paged); len(got) != len(all) || len(res.Paged) != len(all) {
		t.Errorf("paging through %s 100 at a time: %d features (%d distinct) in %d pages, the API holds %d",
			coll, len(res.Paged), len(got), res.Pages, len(all))
	}
	t.Logf("OWSLib paged %d features of %s in %d pages", len(res.Paged), coll, res.Pages)

	q := fmt.Sprintf("bbox=%g,%g,%g,%g", bbox[0], bbox[1], bbox[2], bbox[3])
	wantBBox := codes(c.ogcFeatures(t, coll, q))
	if res.BBoxError != "" || strings.Join(dedupe(res.BBox), ",") != strings.Join(wantBBox, ",") {
		t.Errorf("bbox %v: OWSLib got %d desa %v, the API %d %s", bbox, len(res.BBox), res.BBoxError, len(wantBBox), wantBBox)
	}
	probed := map[string]bool{}
	for _, p := range c.probes {
		if strings.HasPrefix(p.desa, pandeglang+".") {
			probed[p.desa] = true
		}
	}
	for _, code := range res.BBox {
		delete(probed, code)
	}
	if len(probed) > 0 {
		t.Errorf("bbox %v misses the desa the Pandeglang probes stand in: %v", bbox, probed)
	}

	if res.QueryablesError != "" {
		t.Errorf("queryables of %s (OGC API - Features Part 3): %s", coll, res.QueryablesError)
	}
	for prop, want := range map[string][]string{
		"status": {"string"}, "latency_p50_ms": {"number"}, "loss": {"number"}, "population": {"integer", "number"},
	} {
		if got := res.Queryables[prop]; !contains(want, got) {
			t.Errorf("queryable %s of %s has type %q, want %s (queryables: %v)", prop, coll, got, strings.Join(want, " or "), res.Queryables)
		}
	}
}

func codes(features []map[string]any) []string {
	var out []string
	for _, f := range features {
		out = append(out, fmt.Sprint(f["code"]))
	}
	return dedupe(out)
}

// dedupe sorts and removes repeats.
func dedupe(xs []string) []string {
	s := append([]string(nil), xs...)
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
