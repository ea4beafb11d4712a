package importer

import (
	"fmt"
	"strings"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/tile"
)

// OoklaZoom is the zoom of Ookla's open performance tiles: about 610 m
// across at the equator, a quadkey of 16 digits.
const OoklaZoom = 16

// ooklaParser reads Ookla's open performance tiles: quadkey, tile (WKT,
// optional), avg_d_kbps, avg_u_kbps, avg_lat_ms, tests, devices. Other
// columns (avg_lat_down_ms, avg_lat_up_ms, tile_x, tile_y in newer
// files) are ignored. The signal is SignalOfDownload(avg_d_kbps).
type ooklaParser struct {
	quadkey, down, up, lat, tests, devices int
	seen                                   map[string]int
}

func newOoklaParser() *ooklaParser { return &ooklaParser{seen: map[string]int{}} }

func (p *ooklaParser) columns(h *header, errs *Errors) {
	p.quadkey = h.require(errs, "quadkey")
	p.down = h.require(errs, "avg_d_kbps")
	p.up = h.require(errs, "avg_u_kbps")
	p.lat = h.require(errs, "avg_lat_ms")
	p.tests = h.require(errs, "tests")
	p.devices = h.require(errs, "devices")
}

func (p *ooklaParser) row(line int, rec []string, errs *Errors) (evidence.Observation, bool) {
	before := errs.Total
	o := evidence.Observation{}
	qk := field(rec, p.quadkey)
	if msg := checkQuadkey(qk); msg != "" {
		errs.add(line, "quadkey", qk, "%s", msg)
	} else if first, dup := p.seen[qk]; dup {
		errs.add(line, "quadkey", qk, "tile repeated (first on line %d); expected one row per tile", first)
	} else {
		p.seen[qk] = line
		o.Quadkey = qk
	}
	o.DownKbps = speed(line, "avg_d_kbps", field(rec, p.down), errs)
	o.UpKbps = speed(line, "avg_u_kbps", field(rec, p.up), errs)
	o.LatencyMS = latency(line, "avg_lat_ms", field(rec, p.lat), errs)
	var ok bool
	t := field(rec, p.tests)
	if o.Tests, ok = count(t); !ok || o.Tests < 1 {
		errs.add(line, "tests", t, "expected a whole number of tests, at least 1")
	}
	d := field(rec, p.devices)
	if o.Devices, ok = count(d); !ok || o.Devices < 1 {
		errs.add(line, "devices", d, "expected a whole number of devices, at least 1")
	} else if o.Tests >= 1 && o.Devices > o.Tests {
		errs.add(line, "devices", d, "more devices than tests (%d); every device ran at least one test", o.Tests)
	}
	if errs.Total > before {
		return o, false
	}
	o.Signal = SignalOfDownload(o.DownKbps)
	return o, true
}

// checkQuadkey says what is wrong with an Ookla quadkey, "" when nothing.
func checkQuadkey(qk string) string {
	if qk == "" {
		return "empty; expected the tile's quadkey, 16 digits 0-3"
	}
	if _, err := tile.ParseQuadkey(qk); err != nil {
		if strings.Trim(qk, "0123456789") == "" && len(qk) > 0 {
			// Digits, but beyond 0-3 or too long: a number column read as
			// a quadkey loses its leading zeros and may be out of range.
			return "not a quadkey (digits 0-3 only, at most 23); expected Ookla's zoom-16 key, 16 digits 0-3, kept as text"
		}
		return "not a quadkey; expected 16 digits 0-3"
	}
	if len(qk) != OoklaZoom {
		return fmt.Sprintf("a zoom-%d quadkey (%d digits); Ookla's tiles are zoom %d: expected 16 digits 0-3 (a spreadsheet that read the key as a number drops its leading zeros)", len(qk), len(qk), OoklaZoom)
	}
	return ""
}

// speed reads a kbit/s field.
func speed(line int, name, s string, errs *Errors) float64 {
	return bounded(line, name, s, "kbit/s", maxKbps, errs)
}

// latency reads a milliseconds field.
func latency(line int, name, s string, errs *Errors) float64 {
	return bounded(line, name, s, "milliseconds", maxLatencyMS, errs)
}

// bounded reads a number from 0 to max of unit.
func bounded(line int, name, s, unit string, max float64, errs *Errors) float64 {
	v, ok := number(s)
	if !ok || v > max {
		errs.add(line, name, s, "expected %s, a number from 0 to %.0f", unit, max)
		return 0
	}
	return v
}
