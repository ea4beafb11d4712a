// Package probe is the agent that runs in district offices: it runs
// checks (one file per kind) on a schedule, keeps every result in a
// durable spool and uploads the spool to the collector, which
// acknowledges what it has stored. The wire types in wire.go are shared
// with the collector.
package probe

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/prometheus/client_golang/prometheus"
)

// flushTimeout bounds the last upload on shutdown; what is not sent by
// then stays in the spool for the next start.
const flushTimeout = 5 * time.Second

// Probe wires the scheduler, the spool and the uploader together.
type Probe struct {
	cfg      *Config
	log      *slog.Logger
	spool    *spool.Spool
	sched    *Scheduler
	uploader *Uploader
	metrics  *metrics
	kinds    check.Kinds
	sockets  *check.Sockets // the icmp checks'; closed when the checks stop
	cat      *catalogue     // nil: the catalogue is off
	gps      *gpsClient     // nil: survey mode is off
}

// New builds the checkers of cfg, opens its spool and registers the
// probe's metrics on reg (nil: no metrics).
func New(cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*Probe, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	sockets := check.NewSockets()
	p := &Probe{cfg: cfg, log: log, kinds: cfg.Allow.kinds(sockets), sockets: sockets}
	p.sched = NewScheduler(cfg.ID, log, cfg.Concurrency, p.record)
	for i, cc := range cfg.Checks {
		c, err := p.kinds[cc.Kind](cc)
		if err != nil {
			return nil, fmt.Errorf("checks[%d].%w", i, err)
		}
		p.sched.Add(cc, c)
	}
	cat, err := newCatalogue(cfg, reg)
	if err != nil {
		return nil, err
	}
	p.cat = cat
	p.gps = newGPSClient(cfg.GPSD, log)
	sp, err := spool.Open(cfg.Spool.Dir, spool.Limits(cfg.Spool), spool.Logger(log),
		spool.GroupDelay(min(cfg.Spool.SyncInterval, cfg.Upload.Interval/5)))
	if err != nil {
		return nil, spoolDirError(cfg.Spool.Dir, err)
	}
	p.spool = sp
	if p.uploader, err = NewUploader(cfg, sp, log); err != nil {
		sp.Close()
		return nil, err
	}
	if reg != nil {
		if p.metrics, err = newMetrics(reg, sp); err != nil {
			sp.Close()
			return nil, fmt.Errorf("register probe metrics: %w", err)
		}
		p.uploader.metrics = p.metrics
	}
	return p, nil
}

// Run checks and uploads until ctx is cancelled. Then it stops scheduling,
// waits for the checks in flight, tries for 5 s to upload what is left,
// closes the spool and returns nil. Results not uploaded stay on disk.
func (p *Probe) Run(ctx context.Context) error {
	p.log.Info("probe started", "id", p.cfg.ID, "checks", len(p.cfg.Checks), "collector", p.cfg.Collector,
		"spool", p.cfg.Spool.Dir, "spooled", p.spool.Len(), "last_seq", p.spool.LastSeq())
	var wg sync.WaitGroup
	wg.Go(func() { p.uploader.Run(ctx) })
	wg.Go(func() { p.runCatalogue(ctx) })
	wg.Go(func() { p.gps.run(ctx) })
	wg.Go(func() { p.serveMetrics(ctx) })
	p.sched.Run(ctx)
	wg.Wait()
	p.sockets.Close()

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := p.uploader.Flush(fctx); err != nil {
		p.log.Warn("results left for the next start", "err", err)
	}
	if err := p.spool.Close(); err != nil {
		p.log.Error("close spool", "err", err)
	}
	p.log.Info("probe stopped", "last_seq", p.spool.LastSeq())
	return nil
}

// applyCatalogue schedules the local checks and the central ones that
// pass: a local check wins over a central one of the same name, and a
// central check outside the allow list, over the per-host rate or whose
// checker cannot be built is refused, logged and counted; the other
// checks run. invalid is how many the decode refused already.
func (p *Probe) applyCatalogue(central []checkspec.CheckConfig, invalid int, source string) {
	checks := slices.Clone(p.cfg.Checks)
	local := make(map[string]bool, len(checks))
	var load checkspec.HostLoad
	for _, cc := range checks {
		local[cc.Name] = true
		load.Add(cc)
	}
	refused := invalid
	refuse := func(cc checkspec.CheckConfig, err error) {
		refused++
		p.log.Warn("catalogue: central check refused", "check", cc.Name, "target", cc.Target, "err", err)
		p.cat.refused.WithLabelValues(cc.Name).Inc()
	}
	if p.cfg.Allow.Empty() && len(central) > 0 {
		p.log.Warn(fmt.Sprintf("catalogue: no allow list, refusing %d central checks; set allow.cidrs/allow.hosts", len(central)))
		for _, cc := range central {
			p.cat.refused.WithLabelValues(cc.Name).Inc()
		}
		refused += len(central)
		central = nil
	}
	for _, cc := range central {
		if local[cc.Name] {
			p.log.Info("catalogue: central check skipped, a local check has its name", "check", cc.Name, "target", cc.Target)
			continue
		}
		if err := p.cfg.Allow.admitCentral(cc); err != nil {
			refuse(cc, err)
			continue
		}
		if err := load.Admit(cc); err != nil {
			refuse(cc, err)
			continue
		}
		checks = append(checks, cc)
	}
	failed := map[string]error{}
	build := func(cc checkspec.CheckConfig) (c check.Checker, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("building its checker panicked: %v", r)
			}
			if err != nil {
				failed[cc.Name] = err
			}
		}()
		return p.kinds[cc.Kind](cc)
	}
	p.sched.Update(checks, build) // its errors are in failed
	for _, cc := range checks {
		err, bad := failed[cc.Name]
		switch {
		case !bad:
		case local[cc.Name]:
			p.log.Error("catalogue: local check not scheduled", "check", cc.Name, "err", err)
		default:
			refuse(cc, err)
		}
	}
	p.cat.refusedNow.Set(float64(refused))
	p.metrics.retain(p.sched.Names())
	p.log.Info("catalogue applied", "source", source, "local", len(p.cfg.Checks),
		"central", len(p.sched.Names())-len(p.cfg.Checks), "refused", refused, "scheduled", len(p.sched.Names()))
}

// Close releases the spool and the ICMP sockets of a Probe that will not
// Run; after Run it is a no-op.
func (p *Probe) Close() error {
	p.sockets.Close()
	return p.spool.Close()
}
