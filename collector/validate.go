package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jangkau/jangkau/probe"
)

// earliest is the oldest result time accepted: anything before it is a
// probe whose clock was never set.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxAhead is how far past the collector's clock a result may claim to be.
const maxAhead = 24 * time.Hour

var kinds = map[string]bool{probe.KindHTTP: true, probe.KindTCP: true, probe.KindICMP: true, probe.KindDNS: true}

// decodeResult decodes and checks one result of a batch. A failure names
// the field and the reason, and carries the seq when it could be read so
// that the probe can forget that result.
func decodeResult(raw json.RawMessage, now time.Time) (probe.Result, *probe.Rejection) {
	var r probe.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		rej := &probe.Rejection{Field: "result", Reason: err.Error()}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			rej.Field = te.Field
			rej.Reason = fmt.Sprintf("%s cannot hold %s", te.Type, te.Value)
		}
		var seqOnly struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(raw, &seqOnly) == nil {
			rej.Seq = seqOnly.Seq
		}
		return r, rej
	}
	if field, reason := check(&r, now); field != "" {
		return r, &probe.Rejection{Seq: r.Seq, Field: field, Reason: reason}
	}
	return r, nil
}

func check(r *probe.Result, now time.Time) (field, reason string) {
	tooLong := func(s string, n int) bool { return len(s) > n }
	switch {
	case r.Seq == 0:
		return "seq", "missing or 0; seqs start at 1"
	case r.Time.IsZero():
		return "time", "missing"
	case r.Time.Before(earliest):
		return "time", fmt.Sprintf("%s is before %s: is the probe's clock set?", r.Time.Format(time.RFC3339), earliest.Format("2006"))
	case r.Time.After(now.Add(maxAhead)):
		return "time", fmt.Sprintf("%s is more than %s ahead of the collector's clock", r.Time.Format(time.RFC3339), maxAhead)
	case r.Check == "" || tooLong(r.Check, 128):
		return "check", fmt.Sprintf("%q must be 1 to 128 bytes", r.Check)
	case !kinds[r.Kind]:
		return "kind", fmt.Sprintf("%q is not one of http, tcp, icmp, dns", r.Kind)
	case r.Target == "" || tooLong(r.Target, 2048):
		return "target", "must be 1 to 2048 bytes"
	case tooLong(r.Service, 128):
		return "service", "longer than 128 bytes"
	case r.DurationMS < 0 || math.IsInf(r.DurationMS, 0) || r.DurationMS > 24*3600*1000:
		return "duration_ms", fmt.Sprintf("%g is not a duration in milliseconds", r.DurationMS)
	case r.StatusCode < 0 || r.StatusCode > 999:
		return "status_code", fmt.Sprintf("%d is not a status code", r.StatusCode)
	case tooLong(r.ErrorClass, 32):
		return "error_class", "longer than 32 bytes"
	case tooLong(r.Error, 4096):
		return "error", "longer than 4096 bytes"
	case len(r.Phases) > 16:
		return "phases", fmt.Sprintf("%d phases, at most 16", len(r.Phases))
	}
	for name, v := range r.Phases {
		if name == "" || len(name) > 32 || v < 0 || math.IsInf(v, 0) {
			return "phases." + name, fmt.Sprintf("%g is not a duration in milliseconds", v)
		}
	}
	if l := r.Location; l != nil && (l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180) {
		return "location", fmt.Sprintf("(%g, %g) is not a lat/lon in range", l.Lat, l.Lon)
	}
	return "", ""
}
