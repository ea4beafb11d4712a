package embedded

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/collector/rollup"
)

// Retention says how long the store keeps what it holds; a zero duration
// keeps it forever. The store prunes at Open and then every Every, in the
// background, in transactions of at most pruneChunk deletions, so that a
// pruning of weeks of results never holds up ingest for long.
type Retention struct {
	Raw    time.Duration // raw results
	Minute time.Duration // minute rollup rows
	Hour   time.Duration // hour rollup rows
	// Every is the time between prunings; zero is an hour.
	Every time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log gets a line per pruning that deleted something, and errors;
	// nil discards them.
	Log *slog.Logger
	// OnPrune, when set, is called after each background pruning (metrics,
	// tests).
	OnPrune func(PruneStats, error)
}

// WithRetention prunes the store by r.
func WithRetention(r Retention) Option { return func(o *options) { o.retention = &r } }

// PruneStats counts what one pruning deleted.
type PruneStats struct {
	Results, MinuteRows, HourRows int
	// RegionMinuteRows and RegionHourRows are the region rows
	// (region_rollups.go), pruned with the cell rows of their resolution.
	RegionMinuteRows, RegionHourRows int
}

// pruneChunk bounds the deletions of one write transaction: a few tens of
// milliseconds of holding the writer.
const pruneChunk = 5000

// startPruning runs the pruning loop until Close.
func (s *Store) startPruning(r *Retention) {
	if r.Raw == 0 && r.Minute == 0 && r.Hour == 0 {
		return
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Every <= 0 {
		r.Every = time.Hour
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stopPruning = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(r.Every)
		defer t.Stop()
		for {
			st, err := s.Prune(ctx, *r)
			if ctx.Err() != nil {
				return // closing: the pruning resumes at the next Open
			}
			switch {
			case err != nil:
				r.Log.Error("prune store", "err", err)
			case st != PruneStats{}:
				r.Log.Info("pruned store", "results", st.Results, "minute_rows", st.MinuteRows, "hour_rows", st.HourRows)
			}
			if r.OnPrune != nil {
				r.OnPrune(st, err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Prune deletes what r no longer keeps at r.Now (time.Now when nil):
// results older than r.Raw, minute rows older than r.Minute, hour rows
// older than r.Hour. A row goes when its whole bucket is older. Freed
// pages are reused by later writes; the file does not shrink.
func (s *Store) Prune(ctx context.Context, r Retention) (PruneStats, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	var st PruneStats
	for _, p := range []struct {
		bucket []byte
		keep   time.Duration
		span   time.Duration // how far a key's time reaches past it
		n      *int
	}{
		{bucketResults, r.Raw, 0, &st.Results},
		{bucketMinute, r.Minute, time.Minute, &st.MinuteRows},
		{bucketHour, r.Hour, time.Hour, &st.HourRows},
		{bucketRegionMinute, r.Minute, time.Minute, &st.RegionMinuteRows},
		{bucketRegionHour, r.Hour, time.Hour, &st.RegionHourRows},
	} {
		if p.keep <= 0 {
			continue
		}
		n, err := s.pruneBefore(ctx, p.bucket, now.Add(-p.keep-p.span))
		*p.n += n
		if err != nil {
			return st, wrap(fmt.Sprintf("prune %s", p.bucket), err)
		}
	}
	return st, nil
}

// pruneBefore deletes the keys of bucket whose time prefix is before
// cutoff, pruneChunk per transaction.
func (s *Store) pruneBefore(ctx context.Context, bucket []byte, cutoff time.Time) (int, error) {
	if cutoff.UnixNano() <= 0 {
		return 0, nil
	}
	end := timeKey(cutoff)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucket).Cursor()
			// First again after each Delete: a cursor that deleted may skip
			// its next key.
			for k, _ := c.First(); k != nil && n < pruneChunk && bytes.Compare(k[:8], end) < 0; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if n > 0 {
			g := s.gen.Add(1)
			switch {
			case bytes.Equal(bucket, bucketMinute), bytes.Equal(bucket, bucketRegionMinute):
				s.stamps.pruned(g, rollup.Minute, cutoff)
			case bytes.Equal(bucket, bucketHour), bytes.Equal(bucket, bucketRegionHour):
				s.stamps.pruned(g, rollup.Hour, cutoff)
			}
		}
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}
