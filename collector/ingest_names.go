package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jangkau/jangkau/collector/store"
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
// kept, and folded into OtherName beyond it. The names a probe was let
// introduce are kept in the store (store.NameKeeper), written before the
// results that carry them, and read at the probe's first batch after a
// start: a restart folds the same names as before, so a result resent or
// sent next keeps the name it had. (With several collectors on one
// InfluxDB, each reads them at its start, so until a restart each may
// admit up to the bound on its own.)

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
// The zero value is ready; loaded says whether the store's were read.
type probeNames struct {
	mu       sync.Mutex
	loaded   bool
	checks   map[string]struct{}
	services map[string]struct{}
	logged   bool
	folded   atomic.Uint64 // names folded into OtherName so far
}

// admit says whether name may stay in set, adding it while set has room;
// added says it was added.
func admit(set *map[string]struct{}, name string, max int) (ok, added bool) {
	if _, ok := (*set)[name]; ok {
		return true, false
	}
	if *set == nil {
		*set = map[string]struct{}{}
	}
	if len(*set) >= max {
		return false, false
	}
	(*set)[name] = struct{}{}
	return true, true
}

// load reads the names the store says the probe was let introduce, once.
// They are all kept, even beyond a bound lowered since.
func (pn *probeNames) load(ctx context.Context, st store.NameKeeper, probe string) error {
	if pn.loaded {
		return nil
	}
	n, err := st.AdmittedNames(ctx, probe)
	if err != nil {
		return fmt.Errorf("read the names probe %s was let introduce: %w", probe, err)
	}
	pn.checks, pn.services = map[string]struct{}{}, map[string]struct{}{}
	for _, c := range n.Checks {
		pn.checks[c] = struct{}{}
	}
	for _, sv := range n.Services {
		pn.services[sv] = struct{}{}
	}
	pn.loaded = true
	return nil
}

// foldNames rewrites the check and service names of a batch's results
// that the probe may no longer introduce into OtherName, and returns how
// many it rewrote. The names it admits are in the store before it
// returns; when the store fails, nothing is admitted and the batch must
// be refused (503). The first fold of a probe is logged (once per process).
func (s *Server) foldNames(ctx context.Context, p *placedProbe, results []wire.Result) (int, error) {
	max := s.cfg.Limits.MaxUnknownNamesPerProbe
	pn := &p.names
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if err := pn.load(ctx, s.store, p.ID); err != nil {
		return 0, err
	}
	n := 0
	var added store.Names
	for i := range results {
		r := &results[i]
		if !s.known.checks[r.Check] {
			ok, isNew := admit(&pn.checks, r.Check, max)
			if isNew {
				added.Checks = append(added.Checks, r.Check)
			}
			if !ok {
				r.Check = OtherName
				n++
			}
		}
		if r.Service != "" && !s.known.services[r.Service] {
			ok, isNew := admit(&pn.services, r.Service, max)
			if isNew {
				added.Services = append(added.Services, r.Service)
			}
			if !ok {
				r.Service = OtherName
				n++
			}
		}
	}
	if len(added.Checks)+len(added.Services) > 0 {
		if err := s.store.AdmitNames(ctx, p.ID, added); err != nil {
			for _, c := range added.Checks {
				delete(pn.checks, c)
			}
			for _, sv := range added.Services {
				delete(pn.services, sv)
			}
			return 0, fmt.Errorf("keep the names probe %s introduced: %w", p.ID, err)
		}
	}
	if n == 0 {
		return 0, nil
	}
	pn.folded.Add(uint64(n))
	s.metrics.namesFolded.WithLabelValues(p.ID).Add(float64(n))
	if !pn.logged {
		pn.logged = true
		s.log.Warn("probe sends more check or service names than the catalogue has and limits.max_unknown_names_per_probe allows; "+
			"further unknown names are stored as "+OtherName+" (counted in jangkau_ingest_names_folded_total; logged once per probe)",
			slog.String("probe", p.ID), slog.Int("max_unknown_names_per_probe", max))
	}
	return n, nil
}
