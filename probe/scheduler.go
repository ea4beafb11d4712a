package probe

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/wire"
)

// Scheduler runs each check on its own goroutine, at fixed slots, under a
// global bound on how many checks run at once.
//
// A check's slots are the times t with (t - offset) a multiple of its
// interval since the Unix epoch, where offset is a hash of the check name
// and the probe's id modulo the interval: the checks of one probe are
// spread across the interval, probes that check one e-service do not all
// hit it at the same instant, and a restart keeps each check on its slots. A run that
// ends late skips the slots it missed instead of bursting to catch up, so
// a check never overlaps itself and never drifts.
//
// The set of checks may change while the scheduler runs (Update): a check
// that is gone stops, a new one starts on its slots, and one that is
// unchanged keeps running undisturbed.
type Scheduler struct {
	seed string // the probe's id
	log  *slog.Logger
	sink func(wire.Result)
	sem  chan struct{}

	mu      sync.Mutex
	checks  map[string]*scheduledCheck // by name
	gone    map[string]*scheduledCheck // removed, maybe still finishing a run
	ctx     context.Context            // Run's; nil before Run
	stopped bool                       // Run is returning: start nothing
	wg      sync.WaitGroup
}

type scheduledCheck struct {
	cc      checkspec.CheckConfig
	checker check.Checker
	cancel  context.CancelFunc // nil until started
	done    chan struct{}      // closed when its loop has returned
}

// NewScheduler returns a scheduler for probe id that runs at most
// concurrency checks at once and hands every result to sink. sink is called from the check's
// goroutine, so a slow sink delays that check (never its slots).
func NewScheduler(id string, log *slog.Logger, concurrency int, sink func(wire.Result)) *Scheduler {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Scheduler{seed: id, log: log, sink: sink, sem: make(chan struct{}, concurrency),
		checks: map[string]*scheduledCheck{}, gone: map[string]*scheduledCheck{}}
}

// Add registers a check before Run; a check of the same name is replaced.
func (s *Scheduler) Add(cc checkspec.CheckConfig, c check.Checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replace(&scheduledCheck{cc: cc, checker: c, done: make(chan struct{})})
}

// Update makes the scheduled set exactly checks (names unique), before or
// during Run. A check whose checkspec.CheckConfig is unchanged keeps its goroutine
// and its slots; one that is gone or changed is cancelled (a run in flight
// is cut and its result dropped), and a changed one restarts once the old
// loop has returned, so that a check never overlaps itself. build makes
// the Checker of a new or changed check; a check it fails for is skipped
// and its error returned with the others.
func (s *Scheduler) Update(checks []checkspec.CheckConfig, build func(checkspec.CheckConfig) (check.Checker, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	keep := make(map[string]bool, len(checks))
	for _, cc := range checks {
		keep[cc.Name] = true
		if old, ok := s.checks[cc.Name]; ok && reflect.DeepEqual(old.cc, cc) {
			continue
		}
		c, err := build(cc)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %s: %w", cc.Name, err))
			keep[cc.Name] = false
			continue
		}
		s.replace(&scheduledCheck{cc: cc, checker: c, done: make(chan struct{})})
	}
	for name, old := range s.checks {
		if !keep[name] {
			s.stop(old)
			delete(s.checks, name)
			s.gone[name] = old
		}
	}
	return errors.Join(errs...)
}

// replace installs sc, stopping its predecessor (current, or removed and
// maybe still finishing); s.mu is held.
func (s *Scheduler) replace(sc *scheduledCheck) {
	old := s.checks[sc.cc.Name]
	if old == nil {
		old = s.gone[sc.cc.Name]
	}
	delete(s.gone, sc.cc.Name)
	s.checks[sc.cc.Name] = sc
	if old != nil {
		s.stop(old)
	}
	s.start(sc, old)
}

// start runs sc's loop if Run is running, after prev's loop has ended;
// s.mu is held.
func (s *Scheduler) start(sc, prev *scheduledCheck) {
	if s.ctx == nil || s.stopped {
		return
	}
	var wait <-chan struct{}
	if prev != nil && prev.cancel != nil { // prev's loop was started
		wait = prev.done
	}
	ctx, cancel := context.WithCancel(s.ctx)
	sc.cancel = cancel
	s.wg.Go(func() {
		defer close(sc.done)
		defer cancel()
		if wait != nil {
			<-wait
		}
		s.loop(ctx, sc)
		// A checker that holds resources (kept-alive connections) says so
		// by being an io.Closer; it is done once its loop is.
		if c, ok := sc.checker.(io.Closer); ok {
			c.Close()
		}
	})
}

func (s *Scheduler) stop(sc *scheduledCheck) {
	if sc.cancel != nil {
		sc.cancel()
	}
}

// Run schedules every check until ctx is cancelled, then waits for the runs
// in flight and returns. Cancelling ctx cancels those runs too; a run that
// fails after the cancellation says nothing about its target and is
// dropped, not passed to the sink.
func (s *Scheduler) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	for _, sc := range s.checks {
		s.start(sc, nil)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
}

// Names lists the checks scheduled now, sorted.
func (s *Scheduler) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.checks))
}

func (s *Scheduler) loop(ctx context.Context, sc *scheduledCheck) {
	offset := spread(s.seed+"\x00"+sc.cc.Name, sc.cc.Interval, grainOf(sc.cc.Kind))
	timer := time.NewTimer(time.Until(nextSlot(time.Now(), sc.cc.Interval, offset)))
	defer timer.Stop()
	// ended is closed when the last run has handed on its result; the
	// loop never returns while a run is in flight.
	var ended chan struct{}
	defer func() {
		if ended != nil {
			<-ended
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if ended != nil {
			select {
			case <-ended:
			default:
				// The last run is late: skip the slots it overran,
				// then take the first one after it ended.
				select {
				case <-ended:
				case <-ctx.Done():
					return
				}
				ended = nil
				timer.Reset(time.Until(nextSlot(time.Now(), sc.cc.Interval, offset)))
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case s.sem <- struct{}{}:
		}
		// The run gets a goroutine of its own, whose stack (deep in TLS
		// and HTTP) is freed when it ends, so the check's goroutine sleeps
		// on a small one. The run hands
		// its result on itself: waiting here for it to end would wake this
		// goroutine once more per run, and waking is most of what a cheap
		// check costs.
		ended = make(chan struct{})
		go s.runAndSink(ctx, sc, ended)
		timer.Reset(time.Until(nextSlot(time.Now(), sc.cc.Interval, offset)))
	}
}

// runAndSink runs sc once, frees its place under the concurrency bound
// and passes the result on, unless shutdown or removal cut the run short:
// such a failure is not a measurement of the target.
func (s *Scheduler) runAndSink(ctx context.Context, sc *scheduledCheck, ended chan struct{}) {
	defer close(ended)
	r := s.runOne(ctx, sc)
	<-s.sem
	if ctx.Err() != nil && !r.OK {
		return
	}
	s.sink(r)
}

// runOne runs a check under its timeout. A panicking checker breaks its
// contract; it becomes a failed result rather than a dead probe.
func (s *Scheduler) runOne(ctx context.Context, sc *scheduledCheck) (r wire.Result) {
	ctx, cancel := context.WithTimeout(ctx, sc.cc.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("check panicked", "check", sc.cc.Name, "panic", v)
			r = check.Done(sc.cc, start, fmt.Errorf("check panicked: %v", v))
		}
	}()
	return sc.checker.Run(ctx, s.log)
}

// spread is a check's offset within its interval, stable across restarts;
// with a grain, on the grain's grid whenever the interval holds one grain
// (a shorter interval has no grid point but 0, so it keeps fine offsets).
func spread(key string, interval, grain time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	if grain <= 0 || interval < grain {
		return time.Duration(h.Sum64() % uint64(interval))
	}
	return time.Duration(h.Sum64()%uint64(interval/grain)) * grain
}

// slotGrain is the grid of icmp checks' offsets: the icmp checks of a
// probe that land on one grid point start together, on one wake-up of the
// process, instead of each on its own. On a small server most of a cheap
// check's CPU is waking up (the thread, the runtime's monitor, the spool
// writer), so starts are coalesced, as a kernel coalesces timers. Only
// icmp: its round trips are stamped by the kernel, so starting together
// does not distort them, while http, tcp and dns time replies in the
// probe's own goroutines, which a burst of starts would delay
// (docs/benchmarks.md has both measurements). Starts stay spread over the interval and differ between probes.
const slotGrain = 250 * time.Millisecond

// grainOf is the offset grid of a kind of check (0: none).
func grainOf(kind string) time.Duration {
	if kind == wire.KindICMP {
		return slotGrain
	}
	return 0
}

// nextSlot is the first slot strictly after now.
func nextSlot(now time.Time, interval, offset time.Duration) time.Time {
	since := now.Sub(time.Unix(0, 0)) - offset
	k := since / interval
	if since < 0 {
		k-- // round towards minus infinity
	}
	return time.Unix(0, 0).Add(offset + (k+1)*interval)
}
