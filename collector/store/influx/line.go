package influx

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// Line protocol is written here rather than through write.Point: one
// buffer per batch and no map per point, and the exact bytes decide
// idempotence (the same result must always give the same tag set and
// timestamp).

// ResultMeasurement, ResultTags and ResultFields name what the store
// writes for each result, so that dashboards and queries written elsewhere
// can be checked against it; TestSchemaNames derives them from the encoder
// below. Phases add fields named PhasePrefix + the phase.
const ResultMeasurement = measResult

// ResultTags are the tag keys of ResultMeasurement.
var ResultTags = []string{"carrier", "check", "kab", "kind", "probe", "region", "service"}

// ResultFields are its field keys, phases aside.
var ResultFields = []string{"seq", "ok", "duration_ms", "status_code", "error_class", "error", "target", "tile", "lat", "lon"}

// PhasePrefix starts the field key of each phase (phase_connect, ...).
const PhasePrefix = phasePrefix

// stamp is t in whole units of precision.
func stamp(t time.Time, precision time.Duration) int64 {
	return t.UnixNano() / int64(precision)
}

// appendResult appends r, measured in cell, as one line of measResult.
func appendResult(b []byte, probeID string, r *wire.Result, cell rollup.Cell, precision time.Duration) []byte {
	service := cell.Service
	if service == "" {
		service = r.Service
	}
	if service == "" {
		service = rollup.Uplink
	}
	kind := cell.Kind
	if kind == "" {
		kind = r.Kind
	}
	b = append(b, measResult...)
	// Tags in key order, as InfluxDB sorts them anyway.
	b = appendTag(b, "carrier", cell.Carrier)
	b = appendTag(b, "check", r.Check)
	b = appendTag(b, "kab", region.Ancestor(cell.Region, 2))
	b = appendTag(b, "kind", kind)
	b = appendTag(b, "probe", probeID)
	b = appendTag(b, "region", cell.Region)
	b = appendTag(b, "service", service)
	b = append(b, " seq="...)
	b = strconv.AppendInt(b, int64(r.Seq), 10)
	b = append(b, "i,ok="...)
	b = strconv.AppendBool(b, r.OK)
	b = appendFloat(b, "duration_ms", r.DurationMS)
	if r.StatusCode != 0 {
		b = append(b, ",status_code="...)
		b = strconv.AppendInt(b, int64(r.StatusCode), 10)
		b = append(b, 'i')
	}
	b = appendString(b, "error_class", string(r.ErrorClass))
	b = appendString(b, "error", r.Error)
	b = appendString(b, "target", r.Target)
	b = appendString(b, "tile", cell.Tile)
	if l := r.Location; l != nil {
		b = appendFloat(b, "lat", l.Lat)
		b = appendFloat(b, "lon", l.Lon)
	}
	if len(r.Phases) > 0 {
		names := make([]string, 0, len(r.Phases))
		for k := range r.Phases {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			b = appendFloat(b, phasePrefix+k, r.Phases[k])
		}
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(r.Time, precision)*int64(precision), 10) // writes are in ns
	return append(b, '\n')
}

func appendTag(b []byte, key, value string) []byte {
	value = strings.TrimRight(value, `\`) // see appendEscaped
	if value == "" {
		return b // InfluxDB has no empty tag values: absent reads back as ""
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	return appendEscaped(b, value)
}

// appendEscaped escapes a tag value or a field key: a backslash before ,
// = and space. Line protocol cannot carry two things there, so the ingest
// refuses names that hold them (control characters, a trailing
// backslash) and this encoder, given one from elsewhere, keeps the point
// parseable rather than have InfluxDB refuse the whole batch on every
// retry: a newline or CR becomes an (escaped) space, and a trailing backslash, which
// InfluxDB 1.8 reads as escaping the separator after it however it is
// written, is dropped (appendTag drops it before it tests for empty).
func appendEscaped(b []byte, s string) []byte {
	s = strings.TrimRight(s, `\`)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', '=', ' ':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, '\\', ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, key string, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b // line protocol has no NaN or Inf
	}
	b = append(b, ',')
	b = appendEscaped(b, key)
	b = append(b, '=')
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func appendString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, `="`...)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}
