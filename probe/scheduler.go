package probe

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
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
type Scheduler struct {
	seed   string // the probe's id
	log    *slog.Logger
	sink   func(Result)
	sem    chan struct{}
	checks []scheduledCheck
}

type scheduledCheck struct {
	cc      CheckConfig
	checker Checker
}

// NewScheduler returns a scheduler for probe id that runs at most
// concurrency checks at once and hands every result to sink. sink is called from the check's
// goroutine, so a slow sink delays that check (never its slots).
func NewScheduler(id string, log *slog.Logger, concurrency int, sink func(Result)) *Scheduler {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Scheduler{seed: id, log: log, sink: sink, sem: make(chan struct{}, concurrency)}
}

// Add registers a check; call it before Run.
func (s *Scheduler) Add(cc CheckConfig, c Checker) {
	s.checks = append(s.checks, scheduledCheck{cc: cc, checker: c})
}

// Run schedules every check until ctx is cancelled, then waits for the runs
// in flight and returns. Cancelling ctx cancels those runs too; a run that
// fails after the cancellation says nothing about its target and is
// dropped, not passed to the sink.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, sc := range s.checks {
		wg.Go(func() { s.loop(ctx, sc) })
	}
	wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, sc scheduledCheck) {
	offset := spread(s.seed+"\x00"+sc.cc.Name, sc.cc.Interval)
	next := nextSlot(time.Now(), sc.cc.Interval, offset)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		select {
		case <-ctx.Done():
			return
		case s.sem <- struct{}{}:
		}
		r := s.runOne(ctx, sc)
		<-s.sem
		if ctx.Err() != nil && !r.OK {
			// Cut short by shutdown: not a measurement of the target.
			return
		}
		s.sink(r)
		next = nextSlot(time.Now(), sc.cc.Interval, offset)
		timer.Reset(time.Until(next))
	}
}

// runOne runs a check under its timeout. A panicking checker breaks its
// contract; it becomes a failed result rather than a dead probe.
func (s *Scheduler) runOne(ctx context.Context, sc scheduledCheck) (r Result) {
	ctx, cancel := context.WithTimeout(ctx, sc.cc.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("check panicked", "check", sc.cc.Name, "panic", v)
			r = startResult(sc.cc, start)
			finish(&r, start, fmt.Errorf("check panicked: %v", v))
		}
	}()
	return sc.checker.Run(ctx, s.log)
}

// spread is a check's offset within its interval, stable across restarts.
func spread(key string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(interval))
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
