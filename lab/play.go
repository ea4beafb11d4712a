package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// lab is one run of a scenario.
type lab struct {
	sc  *Scenario
	opt Options
	dir string // run folder: configs, data, spools, sockets, logs
	net *network
	ps  *procs
	api apiClient

	relayCtl, targetsCtl *http.Client
	probes               []*labProbe
	probeHC              []*http.Client
	collector            *proc

	// Where the targets and the collector listen, in their namespaces.
	targetHost, collectorHost string

	t0    time.Time
	mu    sync.Mutex
	marks marks
	links []linkState
	rec   recordings
	log   []string // timeline
}

// linkState is a district link as it is now, with its delay history.
type linkState struct {
	delay  time.Duration
	loss   int
	rate   string
	cut    bool
	delays []delayAt
}

type delayAt struct {
	at, delay time.Duration
}

func (l *lab) since() time.Duration { return time.Since(l.t0) }

func (l *lab) printf(format string, args ...any) {
	fmt.Fprintf(l.opt.Out, format+"\n", args...)
}

// note adds a line to the timeline and the progress output.
func (l *lab) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	line := fmt.Sprintf("t=%-7s %s", fmtDur(l.since()), msg)
	l.mu.Lock()
	l.log = append(l.log, line)
	l.mu.Unlock()
	l.printf("%s", line)
}

func runScenario(ctx context.Context, sc *Scenario, opt Options) (err error) {
	l, cleanup, err := setUp(ctx, sc, opt, len(sc.Districts))
	defer cleanup()
	if err != nil {
		return err
	}
	if err := l.start(ctx); err != nil {
		return err
	}
	if err := l.play(ctx); err != nil {
		return err
	}
	l.settle(ctx)
	results := l.evaluate(ctx)
	if err := l.writeReport(ctx, results); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	failed := 0
	for _, r := range results {
		if !r.ok {
			failed++
		}
	}
	l.printf("\n%d of %d assertions hold; report in %s", len(results)-failed, len(results), opt.Report)
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d (see %s)", ErrAssertions, failed, len(results), filepath.Join(opt.Report, "report.md"))
	}
	return nil
}

// setUp makes the run folder and the namespaces; cleanup stops every
// process, deletes the namespaces and keeps the logs in the report.
func setUp(ctx context.Context, sc *Scenario, opt Options, districts int) (*lab, func(), error) {
	removeStale(ctx)
	dir, err := os.MkdirTemp("", "jangkau-lab-")
	if err != nil {
		return nil, func() {}, err
	}
	l := &lab{sc: sc, opt: opt, dir: dir, marks: marks{}, targetHost: inetAddr, collectorHost: coreAddr,
		net: &network{id: fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())},
		ps:  &procs{logs: filepath.Join(dir, "logs")}}
	os.MkdirAll(l.ps.logs, 0o755)
	cleanup := func() {
		l.ps.stopAll()
		if err := l.net.teardown(); err != nil {
			opt.Log.Warn("lab teardown", "err", err)
		}
		if opt.Report != "" {
			keep := filepath.Join(opt.Report, "logs")
			os.RemoveAll(keep)
			os.MkdirAll(opt.Report, 0o755)
			os.Rename(l.ps.logs, keep)
			if _, err := os.Stat(keep); err != nil {
				copyDir(l.ps.logs, keep)
			}
		}
		os.RemoveAll(dir)
	}
	start := time.Now()
	if err := l.net.build(ctx, districts); err != nil {
		return l, cleanup, fmt.Errorf("build namespaces: %w", err)
	}
	l.printf("namespaces: %d built in %s (%s*)", len(l.net.nsList), fmtDur(time.Since(start)), l.net.id)
	return l, cleanup, nil
}

// start runs the relay, targets, collector, proxies and probes.
func (l *lab) start(ctx context.Context) error {
	sc := l.sc
	l.links = make([]linkState, len(sc.Districts))
	// The relay first: routes through it need its TUN devices held.
	rc := relayConfig{Control: filepath.Join(l.dir, "relay.sock")}
	for i, d := range sc.Districts {
		var delay time.Duration
		if d.Link.Delay != nil {
			delay = *d.Link.Delay
		}
		rc.Links = append(rc.Links, relayLink{Name: d.Name, A: tunA(i), B: tunB(i), Delay: delay})
		l.links[i].delay = delay
		l.links[i].delays = []delayAt{{0, delay}}
	}
	if err := l.startRole(ctx, "relay", l.net.router(), "relay", rc, rc.Control); err != nil {
		return err
	}
	l.relayCtl = unixClient(rc.Control, 10*time.Second)
	for i := range sc.Districts {
		if err := l.net.route(ctx, i); err != nil {
			return err
		}
	}
	loss := map[int]int{}
	for i, d := range sc.Districts {
		if d.Link.Loss != nil {
			loss[i] = *d.Link.Loss
			l.links[i].loss = *d.Link.Loss
		}
		if d.Link.Rate != nil && *d.Link.Rate != "" {
			if err := l.net.setRate(ctx, i, *d.Link.Rate); err != nil {
				return err
			}
			l.links[i].rate = *d.Link.Rate
		}
	}
	if err := l.net.setLoss(ctx, loss); err != nil {
		return err
	}

	cert, key, err := writeCert(l.dir)
	if err != nil {
		return err
	}
	tc := targetsConfig{Addr: inetAddr, CertFile: cert, KeyFile: key, Zone: labZone, Control: filepath.Join(l.dir, "targets.sock")}
	for _, s := range sc.Services {
		tc.Services = append(tc.Services, targetService(s))
	}
	if err := l.startRole(ctx, "targets", l.net.inet(), "targets", tc, tc.Control); err != nil {
		return err
	}
	l.targetsCtl = unixClient(tc.Control, 10*time.Second)

	for i, d := range sc.Districts {
		tok, sum := newToken()
		_, _, addr := districtNet(i)
		l.probes = append(l.probes, &labProbe{ID: d.Name, Region: d.Region, NS: l.net.district(i), Addr: addr,
			Token: tok, TokenSHA: sum, Dir: filepath.Join(l.dir, "probes", d.Name),
			Metrics: filepath.Join(l.dir, "metrics-"+d.Name+".sock")})
	}
	if err := l.startCollector(ctx, l.probes); err != nil {
		return err
	}
	for _, p := range l.probes {
		pc := proxyConfig{Socket: p.Metrics, To: "127.0.0.1:9469"}
		if err := l.startRole(ctx, "metrics-"+p.ID, p.NS, "proxy", pc, pc.Socket); err != nil {
			return err
		}
		l.probeHC = append(l.probeHC, unixClient(p.Metrics, 5*time.Second))
		cfg, err := writeProbeConfig(p, sc, cert, l.targetHost, l.collectorAddr(), "127.0.0.1:9469")
		if err != nil {
			return err
		}
		if _, err := l.ps.start("probe-"+p.ID, p.NS, l.opt.Bin, nil, "probe", "--config", cfg); err != nil {
			return err
		}
	}
	l.t0 = time.Now()
	l.note("probes started: %d districts, collector at %s:%d in %s", len(l.probes), coreAddr, collectorP, l.net.core())
	return nil
}

// startCollector runs `jangkau collector` in the core namespace and waits
// for its API through the proxy.
func (l *lab) startCollector(ctx context.Context, probes []*labProbe) error {
	cfgPath := filepath.Join(l.dir, "collector.yaml")
	if err := writeCollectorConfig(cfgPath, l.sc, l.collectorAddr(), l.opt.Regions, filepath.Join(l.dir, "collector-data"), probes); err != nil {
		return err
	}
	p, err := l.ps.start("collector", l.net.core(), l.opt.Bin, nil, "collector", "--config", cfgPath)
	if err != nil {
		return err
	}
	l.collector = p
	pc := proxyConfig{Socket: filepath.Join(l.dir, "api.sock"), To: l.collectorAddr()}
	if err := l.startRole(ctx, "api-proxy", l.net.core(), "proxy", pc, pc.Socket); err != nil {
		return err
	}
	l.api = apiClient{hc: unixClient(pc.Socket, 30*time.Second)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := l.api.get(hctx, "/healthz")
		cancel()
		if err == nil {
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("collector not ready: %v (see logs/collector.log)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *lab) collectorAddr() string {
	return net.JoinHostPort(l.collectorHost, fmt.Sprint(collectorP))
}

// startRole writes a role's config and starts it, waiting for its socket.
func (l *lab) startRole(ctx context.Context, name, ns, role string, cfg any, socket string) error {
	path := filepath.Join(l.dir, name+".json")
	if err := writeRoleConfig(path, cfg); err != nil {
		return err
	}
	p, err := l.ps.role(name, ns, l.opt.Bin, role, path)
	if err != nil {
		return err
	}
	return waitSocket(ctx, p, socket, 20*time.Second)
}

// post sends a control request to a role.
func post(ctx context.Context, hc *http.Client, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://control"+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// play runs the events on schedule until the scenario's end, watching
// what the assertions need and showing progress.
func (l *lab) play(ctx context.Context) error {
	next := 0
	var due time.Time // of events[next], once resolvable
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastProgress, lastSample := time.Time{}, time.Time{}
	var watchers sync.WaitGroup
	defer watchers.Wait()
	wctx, cancelWatchers := context.WithCancel(ctx)
	defer cancelWatchers()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		for next < len(l.sc.Events) {
			e := l.sc.Events[next]
			if due.IsZero() {
				off, _ := l.marks.at(e.At)
				due = l.t0.Add(off)
				if e.Align > 0 {
					if t := due.Truncate(e.Align); t.Before(due) {
						due = t.Add(e.Align)
					}
				}
			}
			if now.Before(due) {
				break
			}
			if err := l.apply(ctx, e); err != nil {
				return fmt.Errorf("events[%d]: %w", next, err)
			}
			if e.Mark != "" {
				l.mu.Lock()
				l.marks[e.Mark] = due.Sub(l.t0)
				l.mu.Unlock()
				l.startWatchers(wctx, &watchers, e.Mark, due)
			}
			next, due = next+1, time.Time{}
		}
		if now.Sub(lastSample) >= 2*time.Second {
			lastSample = now
			l.sampleRTT(ctx)
		}
		if now.Sub(lastProgress) >= 5*time.Second {
			lastProgress = now
			l.progress(ctx, l.phase())
		}
		if end, ok := l.marks.at(l.sc.Duration); ok && next == len(l.sc.Events) && l.since() >= end {
			l.mu.Lock()
			l.marks["end"] = end
			l.mu.Unlock()
			l.note("end of play")
			break
		}
		if l.collector.exited() {
			return fmt.Errorf("%w: the collector (see logs/collector.log)", errExited)
		}
	}
	cancelWatchers()
	return nil
}

// phase is the latest mark reached.
func (l *lab) phase() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	name, at := "warm-up", time.Duration(-1)
	for m, t := range l.marks {
		if t > at && m != "end" {
			name, at = m, t
		}
	}
	return name
}

// progress prints the phase, the time and the results stored per district.
func (l *lab) progress(ctx context.Context, phase string) {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ps, err := l.api.probes(pctx)
	var b strings.Builder
	if err != nil {
		b.WriteString("probes: " + err.Error())
	}
	ids := make([]string, 0, len(ps))
	for id := range ps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, " %s=%d", id, ps[id].ResultsStored)
	}
	l.printf("t=%-7s phase=%-12s stored:%s", fmtDur(l.since()), phase, b.String())
}

// apply carries out one event.
func (l *lab) apply(ctx context.Context, e EventSpec) error {
	if e.Service != "" {
		l.note("service %s %s", e.Service, e.State)
		return post(ctx, l.targetsCtl, "/service/"+e.Service+"/"+e.State)
	}
	for i, d := range l.sc.Districts {
		if d.Name == e.District {
			return l.applyLink(ctx, i, e.Link)
		}
	}
	return fmt.Errorf("no district %q", e.District)
}

// applyLink changes what the event gives of district i's link.
func (l *lab) applyLink(ctx context.Context, i int, ls LinkSpec) error {
	name := l.sc.Districts[i].Name
	st := &l.links[i]
	if ls.Delay != nil {
		if err := post(ctx, l.relayCtl, fmt.Sprintf("/delay/%s?d=%s", name, *ls.Delay)); err != nil {
			return err
		}
		l.mu.Lock()
		st.delay = *ls.Delay
		st.delays = append(st.delays, delayAt{l.since(), *ls.Delay})
		l.mu.Unlock()
		l.note("%s: delay %s", name, *ls.Delay)
	}
	if ls.Loss != nil {
		st.loss = *ls.Loss
		loss := map[int]int{}
		for j := range l.links {
			loss[j] = l.links[j].loss
		}
		if err := l.net.setLoss(ctx, loss); err != nil {
			return err
		}
		l.note("%s: loss %d%% each way", name, *ls.Loss)
	}
	if ls.Rate != nil {
		if err := l.net.setRate(ctx, i, *ls.Rate); err != nil {
			return err
		}
		st.rate = *ls.Rate
		l.note("%s: rate %q", name, *ls.Rate)
	}
	if ls.Cut != nil {
		if err := l.net.setCut(ctx, i, *ls.Cut); err != nil {
			return err
		}
		st.cut = *ls.Cut
		if *ls.Cut {
			l.note("%s: link cut", name)
		} else {
			l.note("%s: link restored", name)
		}
	}
	return nil
}

// settle makes every link clean again (no loss, rate or cut; delays stay)
// and waits up to Settle for every probe's spool to reach the collector,
// so the windows of the assertions hold all their results.
func (l *lab) settle(ctx context.Context) {
	zero, up, none := 0, false, ""
	for i := range l.links {
		ls := LinkSpec{}
		if l.links[i].loss != 0 {
			ls.Loss = &zero
		}
		if l.links[i].cut {
			ls.Cut = &up
		}
		if l.links[i].rate != "" {
			ls.Rate = &none
		}
		if err := l.applyLink(ctx, i, ls); err != nil {
			l.note("settle: %v", err)
		}
	}
	start := time.Now()
	targets := map[string]uint64{}
	for i, p := range l.probes {
		if seq, _, err := l.spooledUpTo(ctx, i); err == nil {
			targets[p.ID] = seq
		}
	}
	for {
		ps, err := l.api.probes(ctx)
		behind := []string{}
		for id, want := range targets {
			if err != nil || ps[id].AckedSeq < want {
				behind = append(behind, id)
			}
		}
		if len(behind) == 0 {
			l.note("settled: every probe's results up to the end are stored (%s)", fmtDur(time.Since(start)))
			return
		}
		if time.Since(start) > l.sc.Settle || ctx.Err() != nil {
			sort.Strings(behind)
			l.note("settle: gave up after %s; behind: %s", fmtDur(time.Since(start)), strings.Join(behind, ", "))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// spooledUpTo is the highest seq probe i has assigned (acked + spooled),
// read from its own metrics, and how many results wait in its spool.
func (l *lab) spooledUpTo(ctx context.Context, i int) (seq uint64, backlog int, err error) {
	mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m, err := metrics(mctx, l.probeHC[i])
	if err != nil {
		return 0, 0, err
	}
	acked, ok1 := metric(m, "jangkau_probe_upload_acked_seq")
	spool, ok2 := metric(m, "jangkau_probe_spool_results")
	if !ok1 || !ok2 {
		return 0, 0, errors.New("probe metrics lack jangkau_probe_upload_acked_seq or jangkau_probe_spool_results")
	}
	return uint64(acked) + uint64(spool), int(spool), nil
}

func copyDir(from, to string) {
	os.MkdirAll(to, 0o755)
	entries, _ := os.ReadDir(from)
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join(from, e.Name())); err == nil {
			os.WriteFile(filepath.Join(to, e.Name()), data, 0o644)
		}
	}
}
