package importer

import (
	"math"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
)

// speedtestParser reads crowd or field speed tests, one point per row:
// time (RFC 3339), lat, lon, carrier, download, upload, latency and an
// optional tech. Units follow the column's name: download_mbps or
// download_kbps (plain download is Mbit/s), likewise upload; latency_ms
// or latency (ms). The signal is SignalOfDownload: a failed test, a
// download of 0, is no signal.
type speedtestParser struct {
	time, lat, lon, carrier, tech int
	down, up, latency             int
	downScale, upScale            float64 // to kbit/s
	// names of the columns as the file's header has them, for errors
	timeName, latName, lonName string
}

func newSpeedtestParser() *speedtestParser { return &speedtestParser{} }

// speedColumn finds a speed column in Mbit/s or kbit/s, returning its
// index and the factor to kbit/s.
func speedColumn(h *header, base string) (int, float64) {
	if i := h.find(base+"_kbps", base+"_kbit"); i >= 0 {
		return i, 1
	}
	return h.find(base+"_mbps", base+"_mbit", base), 1000
}

func (p *speedtestParser) columns(h *header, errs *Errors) {
	p.time = h.require(errs, "time", "timestamp")
	p.lat = h.require(errs, "lat", "latitude")
	p.lon = h.require(errs, "lon", "lng", "longitude")
	p.carrier = h.find("carrier", "operator")
	p.tech = h.find("tech", "technology", "network_type")
	p.down, p.downScale = speedColumn(h, "download")
	if p.down < 0 {
		errs.add(1, "download", "", "column missing; expected download_mbps, download_kbps or download (Mbit/s)")
	}
	p.up, p.upScale = speedColumn(h, "upload")
	p.latency = h.find("latency_ms", "latency", "ping_ms", "ping")
	p.timeName, p.latName, p.lonName = h.name(p.time), h.name(p.lat), h.name(p.lon)
}

func (p *speedtestParser) row(line int, rec []string, errs *Errors) (evidence.Observation, bool) {
	before := errs.Total
	var o evidence.Observation
	ts := field(rec, p.time)
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		errs.add(line, p.timeName, ts, "expected an RFC 3339 time with its zone, e.g. 2024-08-14T09:30:00+07:00")
	}
	o.Time = t.UTC()
	beforeCoords := errs.Total
	o.Lat = coordinate(line, p.latName, field(rec, p.lat), 90, errs)
	o.Lon = coordinate(line, p.lonName, field(rec, p.lon), 180, errs)
	if errs.Total == beforeCoords && o.Lat == 0 && o.Lon == 0 {
		errs.add(line, p.latName, "0", "0,0 is in the Gulf of Guinea: a phone without a GPS fix writes it; drop the row")
	}
	o.Carrier = field(rec, p.carrier)
	if len(o.Carrier) > 64 {
		errs.add(line, "carrier", o.Carrier, "expected a carrier's name, at most 64 bytes")
	}
	name := "download"
	if p.down >= 0 {
		name = fieldName(p.downScale, "download")
	}
	o.DownKbps = speed(line, name, field(rec, p.down), errs) * p.downScale
	if p.up >= 0 {
		if s := field(rec, p.up); s != "" {
			o.UpKbps = speed(line, fieldName(p.upScale, "upload"), s, errs) * p.upScale
		}
	}
	if p.latency >= 0 {
		if s := field(rec, p.latency); s != "" {
			o.LatencyMS = latency(line, "latency_ms", s, errs)
		}
	}
	if p.tech >= 0 {
		s := field(rec, p.tech)
		tech, ok := parseTech(s)
		if !ok {
			errs.add(line, "tech", s, "expected 5G, 4G, 3G, 2G or empty")
		}
		o.Tech = tech
	}
	if o.DownKbps > maxKbps {
		errs.add(line, name, field(rec, p.down), "more than %d kbit/s; is the unit right (download_kbps or download_mbps)?", maxKbps)
	}
	if errs.Total > before {
		return o, false
	}
	o.Signal = SignalOfDownload(o.DownKbps)
	return o, true
}

func fieldName(scale float64, base string) string {
	if scale == 1 {
		return base + "_kbps"
	}
	return base + "_mbps"
}

// coordinate reads a latitude or longitude within ±limit degrees.
func coordinate(line int, name, s string, limit float64, errs *Errors) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.Abs(v) > limit {
		errs.add(line, name, s, "expected decimal degrees (WGS 84) from -%g to %g", limit, limit)
		return 0
	}
	return v
}
