package collector

import (
	"encoding/csv"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/tile"
)

// The columns of each view, in GeoJSON properties and CSV alike.
var (
	regionColumns = []string{"code", "name", "level", "status", "samples", "availability", "loss",
		"latency_p50_ms", "latency_p95_ms", "probes", "last_seen", "population", "population_estimated",
		"people_affected", "measured_share"}
	tileColumns    = []string{"quadkey", "z", "x", "y", "status", "samples", "availability", "loss", "latency_p50_ms", "latency_p95_ms", "probes", "wkt"}
	serviceColumns = []string{"service", "region", "name", "samples", "availability", "latency_p95_ms"}
)

func regionProperties(c coverage.RegionCell) geojson.Properties {
	p := geojson.Properties{
		"code": c.Region.Code, "name": c.Region.Name, "level": c.Region.Level, "status": string(c.Status),
		"samples": c.Samples, "availability": nullable(c.Availability), "loss": nullable(c.Loss),
		"latency_p50_ms": nullable(c.P50), "latency_p95_ms": nullable(c.P95), "probes": c.Probes,
		"last_seen": nil, "population": nil, "population_estimated": c.PopulationEstimated,
		"people_affected": c.PeopleAffected, "measured_share": round(c.MeasuredShare(), 4),
	}
	if !c.LastSeen.IsZero() {
		p["last_seen"] = c.LastSeen.UTC().Format(time.RFC3339)
	}
	if c.PopulationKnown {
		p["population"] = c.Population
	}
	return p
}

func regionRow(c coverage.RegionCell) []string {
	p := regionProperties(c)
	out := make([]string, len(regionColumns))
	for i, col := range regionColumns {
		out[i] = csvValue(p[col])
	}
	return out
}

func tileProperties(t coverage.TileCell) geojson.Properties {
	return geojson.Properties{
		"quadkey": t.Quadkey, "z": int(t.Tile.Z), "x": int64(t.Tile.X), "y": int64(t.Tile.Y), "status": string(t.Status),
		"samples": t.Samples, "availability": nullable(t.Availability), "loss": nullable(t.Loss),
		"latency_p50_ms": nullable(t.P50), "latency_p95_ms": nullable(t.P95), "probes": t.Probes,
	}
}

func tileRow(t coverage.TileCell) []string {
	p := tileProperties(t)
	p["wkt"] = wkt.MarshalString(tile.Polygon(t.Tile))
	out := make([]string, len(tileColumns))
	for i, col := range tileColumns {
		out[i] = csvValue(p[col])
	}
	return out
}

func (s *Server) serviceRow(c coverage.ServiceCell) []string {
	return []string{c.Service, c.Region, s.regionName(c.Region), strconv.Itoa(c.Samples),
		csvValue(nullable(c.Availability)), csvValue(nullable(c.P95))}
}

// csvValue writes a property as a CSV cell: null is empty.
func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	default:
		return ""
	}
}

// writeCSV streams rows under a header.
func writeCSV(w http.ResponseWriter, columns []string, n int, row func(int) []string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.Write(columns)
	for i := range n {
		cw.Write(row(i))
	}
	cw.Flush()
}

// nullable is NaN as JSON null, other values rounded for reading.
func nullable(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return round(v, 4)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
