package collector

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jangkau/jangkau/wire"
)

// OtherName is what a check or e-service name becomes once its probe has
// sent limits.max_unknown_names_per_probe names the collector does not know.
const OtherName = "other"

// Check and service names are free text from the probe, and each distinct
// one becomes a series: an InfluxDB tag, a rollup cell, a label of the
// e-service metrics, an entry of the map's filter. A name from the
// catalogue (services[].name and .service) is always kept; other names (a
// probe's local checks) are kept up to a per-probe bound, first come first
// kept, and folded into OtherName beyond it. The bound lives in memory: a
// restart admits anew, so a folded result resent after a restart may be
// kept under its own name.

// knownNames are the catalogue's check and e-service names.
type knownNames struct{ checks, services map[string]bool }

func newKnownNames(services []ServiceConfig) knownNames {
	k := knownNames{checks: map[string]bool{}, services: map[string]bool{}}
	for _, sv := range services {
		k.checks[sv.Name] = true
		k.services[sv.Service] = true
	}
	return k
}

// probeNames are the names a probe sent that the catalogue does not have.
// The zero value is ready.
type probeNames struct {
	mu       sync.Mutex
	checks   map[string]struct{}
	services map[string]struct{}
	logged   bool
	folded   atomic.Uint64 // names folded into OtherName so far
}

// admit says whether name may stay in set, adding it while set has room.
func admit(set *map[string]struct{}, name string, max int) bool {
	if _, ok := (*set)[name]; ok {
		return true
	}
	if *set == nil {
		*set = map[string]struct{}{}
	}
	if len(*set) >= max {
		return false
	}
	(*set)[name] = struct{}{}
	return true
}

// foldNames rewrites the check and service names of a batch's results
// that the probe may no longer introduce into OtherName, and returns how
// many it rewrote. The first fold of a probe is logged (once per process).
func (s *Server) foldNames(p *placedProbe, results []wire.Result) int {
	max := s.cfg.Limits.MaxUnknownNamesPerProbe
	pn := &p.names
	pn.mu.Lock()
	defer pn.mu.Unlock()
	n := 0
	for i := range results {
		r := &results[i]
		if !s.known.checks[r.Check] && !admit(&pn.checks, r.Check, max) {
			r.Check = OtherName
			n++
		}
		if r.Service != "" && !s.known.services[r.Service] && !admit(&pn.services, r.Service, max) {
			r.Service = OtherName
			n++
		}
	}
	if n == 0 {
		return 0
	}
	pn.folded.Add(uint64(n))
	s.metrics.namesFolded.WithLabelValues(p.ID).Add(float64(n))
	if !pn.logged {
		pn.logged = true
		s.log.Warn("probe sends more check or service names than the catalogue has and limits.max_unknown_names_per_probe allows; "+
			"further unknown names are stored as "+OtherName+" (counted in jangkau_ingest_names_folded_total; logged once per probe)",
			slog.String("probe", p.ID), slog.Int("max_unknown_names_per_probe", max))
	}
	return n
}
