package lab

import (
	"context"
	"fmt"
	"github.com/jangkau/jangkau/geo/region"
	"sync"
	"time"
)

// recordings are what the lab measured while the scenario played.
type recordings struct {
	mu      sync.Mutex
	rtt     []rttSample
	lastRTT map[int]rttSample
	silent  map[string]*measured // by assertion key district@mark
	drained map[string]*measured
}

// rttSample is one icmp check: its fastest and mean round trip.
type rttSample struct {
	at       time.Duration
	district int
	min, avg float64 // ms
}

// measured is a time the lab waited for, or why it could not tell.
type measured struct {
	after   time.Duration
	err     error
	backlog int               // drained: results spooled at the mark
	people  int64             // silent: people affected in the district's region then
	expect  int64             // silent: the population of the probe's deepest region
	props   map[string]string // extra figures for the report
}

func watchKey(district, mark string) string { return district + "@" + mark }

// sampleRTT reads each probe's latest icmp round trip from its metrics;
// a value that changed is a new check.
func (l *lab) sampleRTT(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range l.probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			m, err := metrics(mctx, l.probeHC[i])
			if err != nil {
				return
			}
			avg, ok1 := metric(m, "probe_icmp_duration_seconds", `phase="rtt"`)
			low, ok2 := metric(m, "probe_icmp_duration_rtt_min_seconds")
			if !ok1 || !ok2 {
				return
			}
			s := rttSample{at: l.since(), district: i, min: low * 1000, avg: avg * 1000}
			l.rec.mu.Lock()
			defer l.rec.mu.Unlock()
			if l.rec.lastRTT == nil {
				l.rec.lastRTT = map[int]rttSample{}
			}
			if last, seen := l.rec.lastRTT[i]; seen && last.min == s.min && last.avg == s.avg {
				return
			}
			l.rec.lastRTT[i] = s
			l.rec.rtt = append(l.rec.rtt, s)
		}()
	}
	wg.Wait()
}

// startWatchers starts the live measurements that begin at a mark.
func (l *lab) startWatchers(ctx context.Context, wg *sync.WaitGroup, mark string, at time.Time) {
	for _, a := range l.sc.Assertions {
		switch {
		case a.Silent != nil && a.Silent.After == mark:
			i := l.districtIndex(a.Silent.District)
			limit := a.Silent.Max + 30*time.Second
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := l.watchSilent(ctx, i, at, limit)
				l.rec.mu.Lock()
				if l.rec.silent == nil {
					l.rec.silent = map[string]*measured{}
				}
				l.rec.silent[watchKey(a.Silent.District, mark)] = m
				l.rec.mu.Unlock()
			}()
		case a.Drained != nil && a.Drained.After == mark:
			i := l.districtIndex(a.Drained.District)
			limit := a.Drained.Max + 60*time.Second
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := l.watchDrained(ctx, i, at, limit)
				l.rec.mu.Lock()
				if l.rec.drained == nil {
					l.rec.drained = map[string]*measured{}
				}
				l.rec.drained[watchKey(a.Drained.District, mark)] = m
				l.rec.mu.Unlock()
			}()
		}
	}
}

func (l *lab) districtIndex(name string) int {
	for i, d := range l.sc.Districts {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// watchSilent polls the live map until district i's region is silent.
func (l *lab) watchSilent(ctx context.Context, i int, at time.Time, limit time.Duration) *measured {
	code := l.sc.Districts[i].Region
	kab := region.Ancestor(code, 2)
	for {
		if time.Since(at) > limit {
			return &measured{err: fmt.Errorf("not silent after %s", fmtDur(limit))}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cells, _, err := l.api.coverage(cctx, 2, "window=5m")
		cancel()
		if ctx.Err() != nil {
			return &measured{err: ctx.Err()}
		}
		if c, ok := cells[kab]; err == nil && ok && c.Status == "silent" {
			m := &measured{after: time.Since(at), people: c.PeopleAffected}
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			deep, _, err := l.api.coverage(dctx, region.CodeLevel(code), "window=5m")
			cancel()
			if d, ok := deep[code]; err == nil && ok && d.Population != nil {
				m.expect = *d.Population
			}
			l.note("%s: %s silent on the live map %s after the cut (people affected %d)", l.sc.Districts[i].Name, kab, fmtDur(m.after), m.people)
			return m
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// watchDrained waits until the collector has acknowledged every result
// district i's probe had spooled at the mark.
func (l *lab) watchDrained(ctx context.Context, i int, at time.Time, limit time.Duration) *measured {
	id := l.sc.Districts[i].Name
	var target uint64
	var backlog int
	for {
		seq, bl, err := l.spooledUpTo(ctx, i)
		if err == nil {
			target, backlog = seq, bl
			break
		}
		if time.Since(at) > 10*time.Second {
			return &measured{err: fmt.Errorf("probe metrics: %w", err)}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		if time.Since(at) > limit {
			return &measured{backlog: backlog, err: fmt.Errorf("seq %d not acknowledged after %s", target, fmtDur(limit))}
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ps, err := l.api.probes(pctx)
		cancel()
		if ctx.Err() != nil {
			return &measured{err: ctx.Err()}
		}
		if err == nil && ps[id].AckedSeq >= target {
			m := &measured{after: time.Since(at), backlog: backlog,
				props: map[string]string{"seq": fmt.Sprint(target)}}
			l.note("%s: backlog of %d results (up to seq %d) drained %s after the restore", id, backlog, target, fmtDur(m.after))
			return m
		}
		time.Sleep(250 * time.Millisecond)
	}
}
