package embedded

import (
	"time"

	stampset "github.com/jangkau/jangkau/collector/store/stamps"
	"github.com/jangkau/jangkau/wire"
)

// stamps remember, per resolution and bucket, the store generation of the
// last write or pruning that changed a rollup row of the bucket
// (collector/store/stamps, shared with the InfluxDB store).
type stamps struct{ s *stampset.Stamps }

func newStamps() *stamps { return &stamps{stampset.New()} }

func (s *stamps) wrote(gen uint64, results []wire.Result) { s.s.Wrote(gen, results) }

func (s *stamps) pruned(gen uint64, res time.Duration, cutoff time.Time) {
	s.s.Pruned(gen, res, cutoff)
}

func (s *stamps) get(res time.Duration, from, to time.Time) uint64 { return s.s.Get(res, from, to) }

// RollupGeneration stamps the rollup rows of resolution res with buckets
// in [from, to): it changes after every Write or pruning that changed one
// of them, and not after those that changed only other buckets. It feeds
// coverage.NewGenerationSource, so that live ingest into the running
// minute does not make the engine refold a day's hours.
func (s *Store) RollupGeneration(res time.Duration, from, to time.Time) uint64 {
	return s.stamps.get(res, from, to)
}
