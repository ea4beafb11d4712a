package partner

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/httpapi"
)

// Paging of items, as OGC API - Features recommends.
const (
	ogcDefaultLimit = 100
	ogcMaxLimit     = 10000
)

// ogcReserved are the items parameters that are not property filters.
var ogcReserved = map[string]bool{"bbox": true, "datetime": true, "limit": true, "offset": true, "f": true,
	"carrier": true, "service": true, "region": true}

// ogcQuery turns datetime into the coverage window and reads the coverage
// filters. An interval a/b is the window; an instant t, or ../t, is the 15
// minutes up to t; a/.. runs to now.
func (s *API) ogcQuery(r *http.Request, sc *scope, level int) (exportQuery, error) {
	in := r.URL.Query()
	v := url.Values{}
	for _, k := range []string{"carrier", "service", "region"} {
		if x := in.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	if dt := in.Get("datetime"); dt != "" {
		from, to, err := parseDatetime(dt, s.r.Now())
		if err != nil {
			return exportQuery{}, &httpapi.QueryError{Field: "datetime", Value: dt, Reason: err.Error()}
		}
		v.Set("from", from.Format(time.RFC3339Nano))
		v.Set("to", to.Format(time.RFC3339Nano))
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = v.Encode()
	if level == 0 {
		level = s.r.Regions().Deepest()
	}
	return s.parseExport(r2, sc, level)
}

func parseDatetime(dt string, now time.Time) (from, to time.Time, err error) {
	bad := fmt.Errorf("datetime %q: want an RFC 3339 time or an interval a/b (.. for an open end)", dt)
	parse := func(s string) (time.Time, bool) {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	}
	a, b, interval := strings.Cut(dt, "/")
	if !interval {
		t, ok := parse(dt)
		if !ok {
			return from, to, bad
		}
		return t.Add(-15 * time.Minute), t, nil
	}
	open := func(s string) bool { return s == "" || s == ".." }
	switch {
	case open(a) && open(b):
		return now.Add(-15 * time.Minute), now, nil
	case open(a):
		t, ok := parse(b)
		if !ok {
			return from, to, bad
		}
		return t.Add(-15 * time.Minute), t, nil
	}
	from, ok := parse(a)
	if !ok {
		return from, to, bad
	}
	to = now
	if !open(b) {
		if to, ok = parse(b); !ok {
			return from, to, bad
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("datetime %q: the start must come before the end", dt)
	}
	return from, to, nil
}

// itemsQuery is a page of a collection's items.
type itemsQuery struct {
	exportQuery
	filters       map[string]string // property filters
	limit, offset int
	bound         orb.Bound
}

// parseItems reads the property filters, limit, offset, bbox and the
// coverage query of an items request of collection c.
func (s *API) parseItems(sc *scope, c ogcCollectionInfo) func(*http.Request) (itemsQuery, error) {
	return func(r *http.Request) (itemsQuery, error) {
		v := r.URL.Query()
		props := map[string]bool{}
		for _, p := range ogcProperties(c) {
			props[p] = true
		}
		q := itemsQuery{filters: map[string]string{}, limit: ogcDefaultLimit}
		for k := range v {
			switch {
			case ogcReserved[k]:
			case props[k]:
				q.filters[k] = v.Get(k)
			default:
				return q, httpapi.Invalid(k, v.Get(k), "parameter %q: not a parameter or property of collection %s", k, c.id)
			}
		}
		if l := v.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 {
				return q, httpapi.Invalid("limit", l, "limit %q must be a positive integer (at most %d)", l, ogcMaxLimit)
			}
			q.limit = min(n, ogcMaxLimit)
		}
		if o := v.Get("offset"); o != "" {
			n, err := strconv.Atoi(o)
			if err != nil || n < 0 {
				return q, httpapi.Invalid("offset", o, "offset %q must be a non-negative integer", o)
			}
			q.offset = n
		}
		var err error
		if q.bound, err = httpapi.ParseBBox(v.Get("bbox")); err != nil {
			return q, err
		}
		q.exportQuery, err = s.ogcQuery(r, sc, c.level)
		return q, err
	}
}
