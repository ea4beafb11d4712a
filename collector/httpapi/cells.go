package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The columns of each view, in GeoJSON properties and CSV alike.
var (
	RegionColumns = []string{"code", "name", "level", "status", "samples", "availability", "loss",
		"latency_p50_ms", "latency_p95_ms", "probes", "last_seen", "population", "population_estimated",
		"people_affected", "measured_share"}
	TileColumns    = []string{"quadkey", "z", "x", "y", "status", "samples", "availability", "loss", "latency_p50_ms", "latency_p95_ms", "probes", "wkt"}
	ServiceColumns = []string{"service", "region", "name", "samples", "availability", "latency_p95_ms"}
)

// RegionProperties are a region cell as GeoJSON properties; NaN is null.
func RegionProperties(c coverage.RegionCell) geojson.Properties {
	p := geojson.Properties{
		"code": c.Region.Code, "name": c.Region.Name, "level": c.Region.Level, "status": string(c.Status),
		"samples": c.Samples, "availability": Nullable(c.Availability), "loss": Nullable(c.Loss),
		"latency_p50_ms": Nullable(c.P50), "latency_p95_ms": Nullable(c.P95), "probes": c.Probes,
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

// regionKey is every figure of a region cell that RegionProperties reads
// but the region's own (code, name, level): equal keys of one region
// give the same properties. Floats by their bits, so that NaN equals
// NaN.
type regionKey struct {
	status                 coverage.Status
	samples, probes        int
	avail, loss, p50, p95  uint64
	seen                   bool
	lastSeen               int64
	popKnown, popEstimated bool
	population, affected   int64
	measuredTiles, tiles   int
}

func regionKeyOf(c *coverage.RegionCell) regionKey {
	return regionKey{status: c.Status, samples: c.Samples, probes: c.Probes,
		avail: math.Float64bits(c.Availability), loss: math.Float64bits(c.Loss),
		p50: math.Float64bits(c.P50), p95: math.Float64bits(c.P95),
		seen: !c.LastSeen.IsZero(), lastSeen: c.LastSeen.Unix(),
		popKnown: c.PopulationKnown, popEstimated: c.PopulationEstimated,
		population: c.Population, affected: c.PeopleAffected,
		measuredTiles: c.MeasuredTiles, tiles: c.Tiles}
}

// RevalidatedRegionCells answers cells as a GeoJSON collection of their
// regions with RegionProperties, as RevalidatedRegions does; a region
// whose figures are those of its last answer reuses that answer's
// properties, encoded and compressed.
func RevalidatedRegionCells(w http.ResponseWriter, r *http.Request, g *RegionGeometries, cells []coverage.RegionCell, q View) {
	ps, err := g.collection(len(cells), func(i int) (*region.Region, any, func() geojson.Properties) {
		c := &cells[i]
		return c.Region, regionKeyOf(c), func() geojson.Properties { return RegionProperties(*c) }
	}, q)
	if err != nil {
		Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	revalidatedParts(w, r, GeoJSONType, ps)
}

// RegionRow is a region cell as a CSV row of RegionColumns.
func RegionRow(c coverage.RegionCell) []string {
	return Row(RegionProperties(c), RegionColumns)
}

// Row is properties as a CSV row of columns; a missing one is empty.
func Row(p geojson.Properties, columns []string) []string {
	out := make([]string, len(columns))
	for i, col := range columns {
		if s, ok := p[col].(string); ok {
			out[i] = CSVText(s)
		} else {
			out[i] = CSVValue(p[col])
		}
	}
	return out
}

// TileProperties are a map tile cell as GeoJSON properties.
func TileProperties(t coverage.TileCell) geojson.Properties {
	return geojson.Properties{
		"quadkey": t.Quadkey, "z": int(t.Tile.Z), "x": int64(t.Tile.X), "y": int64(t.Tile.Y), "status": string(t.Status),
		"samples": t.Samples, "availability": Nullable(t.Availability), "loss": Nullable(t.Loss),
		"latency_p50_ms": Nullable(t.P50), "latency_p95_ms": Nullable(t.P95), "probes": t.Probes,
	}
}

// TileRow is a tile cell as a CSV row of TileColumns, its polygon as WKT.
func TileRow(t coverage.TileCell) []string {
	p := TileProperties(t)
	p["wkt"] = WKT(tile.Polygon(t.Tile))
	return Row(p, TileColumns)
}

// ServiceRow is a CSV row of an e-service cell; name is its region's.
func ServiceRow(c coverage.ServiceCell, name string) []string {
	return []string{CSVText(c.Service), CSVText(c.Region), CSVText(name), strconv.Itoa(c.Samples),
		CSVValue(Nullable(c.Availability)), CSVValue(Nullable(c.P95))}
}

// CSVText is a cell of free text (a name, a target, an error) made safe
// for a spreadsheet, as OWASP's "CSV Injection" page advises: a cell that
// starts with = + - @ TAB or CR gets a leading single quote, so that
// Excel, LibreOffice and Google Sheets show it as text instead of running
// it as a formula. The CSV writer quotes the cell when it holds a comma,
// quote or line break. Only text columns go through here: numbers come
// from strconv, so a latitude of -6.2 stays a number.
func CSVText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// CSVValue writes a property as a CSV cell: null is empty. A string is
// written as it is: CSV rows put text through CSVText.
func CSVValue(v any) string {
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

// Nullable is NaN as JSON null, other values rounded for reading.
func Nullable(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return round(v, 4)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
