package spool

import (
	"errors"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// ErrQueueFull is returned by Offer when the writer is that far
// behind: the result was dropped and counted (reason queue_full).
var ErrQueueFull = errors.New("spool: queue full, result dropped")

// maxGroup bounds the results of one group commit, so that a transaction
// stays small however far the writer fell behind.
const maxGroup = 1024

// queueFullLogEvery spaces the log lines about queue_full drops.
const queueFullLogEvery = 10 * time.Second

// Offer queues r for the writer goroutine and returns at once: a check
// never waits for the disk. When the queue is full r is dropped and
// counted; it never gets a seq, so the collector sees no gap for it.
func (s *Spool) Offer(r wire.Result) error {
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	select {
	case s.queue <- &r:
		if len(s.queue) >= maxGroup {
			select {
			case s.groupFull <- struct{}{}:
			default:
			}
		}
		return nil
	default:
		s.dropped[dropQueueFull].Add(1)
		s.unspooled.add(r.Time)
		return ErrQueueFull
	}
}

// Sync returns once every result offered before the call is committed (or
// was dropped): on shutdown, after the checks have stopped, it leaves
// nothing in memory.
func (s *Spool) Sync() {
	reply := make(chan struct{})
	select {
	case s.syncReq <- reply:
		<-reply
	case <-s.stopped:
	}
}

// Lost is how many offered results the writer failed to store (the disk
// refused them).
func (s *Spool) Lost() uint64 { return s.lost.Load() }

func (s *Spool) startWriter() {
	s.queue = make(chan *wire.Result, max(s.opt.queueLen, 1))
	s.syncReq = make(chan chan struct{})
	s.groupFull = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.write()
}

// write is the one writer: it waits for work, then commits everything
// queued, maxGroup results per transaction. A Sync or a stop empties the
// queue before it is answered.
func (s *Spool) write() {
	defer close(s.stopped)
	batch := make([]wire.Result, 0, maxGroup)
	var lastLog time.Time
	var logged uint64
	for {
		var reply chan struct{}
		stopping := false
		select {
		case r := <-s.queue:
			batch = append(batch, *r)
			reply, stopping = s.gather()
		case reply = <-s.syncReq:
		case <-s.stop:
			stopping = true
		}
		for {
			batch = s.collect(batch)
			if len(batch) > 0 {
				s.commit(batch)
				batch = batch[:0]
			}
			if (reply == nil && !stopping) || len(s.queue) == 0 {
				break
			}
		}
		if n := s.dropped[dropQueueFull].Load(); n != logged && (time.Since(lastLog) >= queueFullLogEvery || reply != nil || stopping) {
			s.opt.log.Warn("spool writer fell behind: results dropped because its queue was full",
				"results", n-logged, "dropped_total", n, "queue", cap(s.queue))
			logged, lastLog = n, time.Now()
		}
		if reply != nil {
			close(reply)
		}
		if stopping {
			return
		}
	}
}

// gather waits up to groupDelay, until a full group is queued, a Sync or
// a stop: what is queued in that time shares one commit. It does not
// take results off the queue while it waits, so a result arriving
// wakes nobody: at a few results a second, a wake-up per result was
// most of what the writer cost.
func (s *Spool) gather() (reply chan struct{}, stopping bool) {
	if s.opt.groupDelay <= 0 {
		return nil, false
	}
	t := time.NewTimer(s.opt.groupDelay)
	defer t.Stop()
	select {
	case reply = <-s.syncReq:
		return reply, false
	case <-s.stop:
		return nil, true
	case <-s.groupFull:
	case <-t.C:
	}
	return nil, false
}

// collect adds what is queued now to batch, up to maxGroup.
func (s *Spool) collect(batch []wire.Result) []wire.Result {
	for len(batch) < maxGroup {
		select {
		case r := <-s.queue:
			batch = append(batch, *r)
		default:
			return batch
		}
	}
	return batch
}

// commit stores one group; a failure loses it, counted and logged.
func (s *Spool) commit(batch []wire.Result) {
	if s.opt.beforeCommit != nil {
		s.opt.beforeCommit()
	}
	if _, err := s.Add(batch...); err != nil {
		s.lost.Add(uint64(len(batch)))
		for _, r := range batch {
			s.unspooled.add(r.Time)
		}
		s.opt.log.Error("results lost: spool add failed", "results", len(batch), "err", err)
	}
}
