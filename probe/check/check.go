package check

import (
	"context"
	"crypto/tls"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// Checker runs one configured check once.
//
// Run must return within ctx's deadline (the scheduler sets it to the
// check's timeout) and must not panic on network errors. It fills Time
// (when the run started), Check, Kind, Target, Service, OK, DurationMS
// (the whole run), Phases, StatusCode, ErrorClass (one of wire's Class*
// constants) and Error; it never sets Seq, which the spool assigns, nor
// Location, which the probe attaches. A Checker is used by one goroutine
// at a time but must not keep per-run state between runs.
type Checker interface {
	Run(ctx context.Context, log *slog.Logger) wire.Result
}

// Kinds maps a kind of check to the constructor of its Checker. A
// constructor validates the CheckConfig once, at load, with checkspec
// (so that a run does no parsing) and returns checkspec's *FieldError,
// which starts with the field it blames ("target ..."). Build one with
// NewKinds: there is no global registry.
type Kinds map[string]func(checkspec.CheckConfig) (Checker, error)

// Names lists the kinds in a stable order, for error messages.
func (k Kinds) Names() []string {
	return slices.Sorted(maps.Keys(k))
}

// Option tunes the checkers that NewKinds builds.
type Option func(*env)

// RedirectAllowed makes http checks follow a redirect only to a host
// that allowed admits, so that an allowed URL cannot send the probe
// anywhere else.
func RedirectAllowed(allowed func(host string) bool) Option {
	return func(e *env) { e.redirectAllowed = allowed }
}

// NewKinds returns the kinds a probe can run, one file each. Their
// checkers share what is worth sharing: the ICMP sockets in sockets
// (owned by the caller, who closes them), one TLS config for the checks
// without TLS options, and the buffers of the direct HTTP path.
func NewKinds(sockets *Sockets, opts ...Option) Kinds {
	e := &env{sockets: sockets, defaultTLS: &tls.Config{}}
	for _, o := range opts {
		o(e)
	}
	return Kinds{
		wire.KindHTTP: func(cc checkspec.CheckConfig) (Checker, error) { return checker(e.newHTTP(cc)) },
		wire.KindTCP:  func(cc checkspec.CheckConfig) (Checker, error) { return checker(e.newTCP(cc)) },
		wire.KindICMP: func(cc checkspec.CheckConfig) (Checker, error) { return checker(e.newICMP(cc)) },
		wire.KindDNS:  func(cc checkspec.CheckConfig) (Checker, error) { return checker(newDNS(cc)) },
	}
}

// checker turns a constructor's concrete result into a Checker that is
// nil, not a typed nil, on error.
func checker[C Checker](c C, err error) (Checker, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

// env is what the checkers of one Kinds share.
type env struct {
	sockets *Sockets
	// defaultTLS is the config of every check without TLS options; it
	// is never changed: withServerName copies it.
	defaultTLS *tls.Config
	// redirectAllowed, when set, admits the host of each HTTP redirect.
	redirectAllowed func(host string) bool
	bufs            httpBufs
}

// startResult is the part of a Result every kind fills the same way.
func startResult(cc checkspec.CheckConfig, start time.Time) wire.Result {
	return wire.Result{
		Time:    start,
		Check:   cc.Name,
		Kind:    cc.Kind,
		Target:  cc.Target,
		Service: cc.Service,
	}
}

// Done is the result of a run of cc that started at start and ends now
// with err (nil: success), stamped, classified and timed as a checker's:
// for a run that ends outside its checker (a panic the scheduler caught)
// and for checkers written elsewhere, such as tests'.
func Done(cc checkspec.CheckConfig, start time.Time, err error) wire.Result {
	r := startResult(cc, start)
	r.OK = err == nil
	finish(&r, start, err)
	return r
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
