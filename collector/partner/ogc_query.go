package partner

import (
	"errors"
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
	filters       []propertyFilter
	limit, offset int
	bound         orb.Bound
}

// parseItems reads the property filters, limit, offset, bbox and the
// coverage query of an items request of collection c. A limit above the
// maximum is the maximum, as OGC API - Features asks.
func (s *API) parseItems(sc *scope, c ogcCollectionInfo) func(*http.Request) (itemsQuery, error) {
	return func(r *http.Request) (itemsQuery, error) {
		v := r.URL.Query()
		props := map[string]ogcProperty{}
		for _, p := range ogcSchema(c) {
			props[p.name] = p
		}
		q := itemsQuery{limit: ogcDefaultLimit}
		for k := range v {
			p, isProp := props[k]
			switch {
			case ogcReserved[k]:
			case isProp:
				f, err := newPropertyFilter(p, v.Get(k))
				if err != nil {
					return q, err
				}
				q.filters = append(q.filters, f)
			default:
				return q, httpapi.Invalid(k, v.Get(k), "parameter %q: not a parameter or queryable of collection %s (see /ogc/collections/%s/queryables)", k, c.id, c.id)
			}
		}
		var err error
		if q.limit, err = pageLimit(v.Get("limit"), ogcDefaultLimit, ogcMaxLimit); err != nil {
			return q, err
		}
		if o := v.Get("offset"); o != "" {
			n, err := strconv.Atoi(o)
			if err != nil || n < 0 {
				return q, httpapi.Invalid("offset", o, "offset %q must be a non-negative integer", o)
			}
			q.offset = n
		}
		if q.bound, err = httpapi.ParseBBox(v.Get("bbox")); err != nil {
			return q, err
		}
		q.exportQuery, err = s.ogcQuery(r, sc, c.level)
		return q, err
	}
}

// pageLimit reads a limit parameter: def when absent, a positive integer,
// and above max, max: OGC API - Features says a larger limit is not an
// error, and GIS clients ask for more than a server gives.
func pageLimit(value string, def, max int) (int, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.Atoi(value)
	if errors.Is(err, strconv.ErrRange) && value[0] != '-' {
		return max, nil // larger than an int: more than max all the same
	}
	if err != nil || n < 1 {
		return 0, httpapi.Invalid("limit", value, "limit %q must be a positive integer (at most %d; more is taken as %d)", value, max, max)
	}
	return min(n, max), nil
}

// propertyFilter is ?name=value on a queryable, read by the property's
// type: numbers compare as numbers (samples=3 matches 3.0), booleans as
// booleans, and an empty value matches null.
type propertyFilter struct {
	name, text string
	null       bool
	num        float64
	isNum      bool
	boolean    bool
	isBool     bool
}

func newPropertyFilter(p ogcProperty, value string) (propertyFilter, error) {
	f := propertyFilter{name: p.name, text: value, null: value == ""}
	if f.null {
		return f, nil
	}
	var err error
	switch p.typ {
	case "number", "integer":
		f.isNum = true
		if f.num, err = strconv.ParseFloat(value, 64); err != nil {
			return f, httpapi.Invalid(p.name, value, "%s %q: want a number (or nothing, for null)", p.name, value)
		}
	case "boolean":
		f.isBool = true
		if f.boolean, err = strconv.ParseBool(value); err != nil {
			return f, httpapi.Invalid(p.name, value, "%s %q: want true or false (or nothing, for null)", p.name, value)
		}
	}
	return f, nil
}

// match says whether a feature's value of the property passes.
func (f propertyFilter) match(v any) bool {
	if v == nil || f.null {
		return f.null && (v == nil || v == "")
	}
	switch {
	case f.isNum:
		x, ok := number(v)
		return ok && x == f.num
	case f.isBool:
		b, ok := v.(bool)
		return ok && b == f.boolean
	default:
		return httpapi.CSVValue(v) == f.text
	}
}

// number is a property value as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case realNumber:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}
