package httpapi

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/region"
)

// View is what every coverage view takes from its URL.
type View struct {
	coverage.Query
	Level  int
	Format string // geojson (default) or csv
}

// ParseView reads level, window or from/to, carrier, service and format,
// with the API's defaults: defaultLevel, the 15 minutes before now. Every
// error is a QueryError.
func ParseView(r *http.Request, now time.Time, regions *region.Regions, defaultLevel int) (View, error) {
	v := r.URL.Query()
	q := View{Level: defaultLevel, Format: "geojson"}
	q.Now = now
	if l := v.Get("level"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || regions.Level(n) == nil {
			return q, Invalid("level", l, "level %q: the regions have levels %v", l, regions.Levels())
		}
		q.Level = n
	}
	q.To = q.Now
	window := 15 * time.Minute
	if w := v.Get("window"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d <= 0 {
			return q, Invalid("window", w, "window %q must be a positive duration like 15m or 24h", w)
		}
		window = d
	}
	q.From = q.To.Add(-window)
	if f, t := v.Get("from"), v.Get("to"); f != "" || t != "" {
		from, err1 := time.Parse(time.RFC3339, f)
		to, err2 := time.Parse(time.RFC3339, t)
		if err1 != nil || err2 != nil || !from.Before(to) {
			return q, Invalid("from", f, "from %q and to %q must both be RFC 3339 times, from before to", f, t)
		}
		q.From, q.To = from, to
	}
	q.Carrier, q.Service = v.Get("carrier"), v.Get("service")
	switch f := v.Get("format"); f {
	case "", "geojson", "json":
	case "csv":
		q.Format = "csv"
	default:
		return q, Invalid("format", f, "format %q: geojson or csv", f)
	}
	return q, nil
}

// ParseBBox reads minLon,minLat,maxLon,maxLat; "" is no bound. Its errors
// are QueryErrors of bbox.
func ParseBBox(s string) (orb.Bound, error) {
	if s == "" {
		return orb.Bound{}, nil
	}
	parts := strings.Split(s, ",")
	var v [4]float64
	if len(parts) != 4 {
		return orb.Bound{}, Invalid("bbox", s, "bbox %q must be minLon,minLat,maxLon,maxLat", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) {
			return orb.Bound{}, Invalid("bbox", s, "bbox %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	if v[0] > v[2] || v[1] > v[3] || v[1] < -90 || v[3] > 90 {
		return orb.Bound{}, Invalid("bbox", s, "bbox %q must be minLon,minLat,maxLon,maxLat with min below max", s)
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

var regionCodeRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// ValidRegionCode says whether s is written like a region code (36.01.05:
// numbers joined by dots), in a config or a request.
func ValidRegionCode(s string) bool { return regionCodeRE.MatchString(s) }
