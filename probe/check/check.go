package check

import (
	"context"
	"log/slog"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// Checker runs one configured check once.
//
// Run must return within ctx's deadline (the scheduler sets it to the
// check's timeout) and must not panic on network errors. It fills Time
// (when the run started), Check, Kind, Target, Service, OK, DurationMS
// (the whole run), Phases, StatusCode, ErrorClass (one of the Err*
// constants) and Error; it never sets Seq, which the spool assigns, nor
// Location, which the probe attaches. A Checker is used by one goroutine
// at a time but must not keep per-run state between runs.
type Checker interface {
	Run(ctx context.Context, log *slog.Logger) wire.Result
}

// Kinds maps a kind of check to the constructor of its Checker. A
// constructor validates the CheckConfig once, at load, so that a run does
// no parsing; its errors start with the field they blame ("target ...").
// Build one with NewKinds: there is no global registry.
type Kinds map[string]func(CheckConfig) (Checker, error)

// NewKinds returns the kinds this probe can run, one file each.
func NewKinds() Kinds {
	return Kinds{
		wire.KindHTTP: newHTTPChecker,
		wire.KindTCP:  newTCPChecker,
		wire.KindICMP: newICMPChecker,
		wire.KindDNS:  newDNSChecker,
	}
}

// startResult is the part of a Result every kind fills the same way.
func startResult(cc CheckConfig, start time.Time) wire.Result {
	return wire.Result{
		Time:    start,
		Check:   cc.Name,
		Kind:    cc.Kind,
		Target:  cc.Target,
		Service: cc.Service,
	}
}

// finish stamps the duration and, for a failure, its class and message.
func finish(r *wire.Result, start time.Time, err error) {
	r.DurationMS = ms(time.Since(start))
	if err != nil {
		r.OK = false
		r.ErrorClass = classify(err)
		r.Error = err.Error()
	}
}

// ms converts a duration to the milliseconds the wire carries.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
