package probe

import (
	"errors"
	"math"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

// record is the scheduler's sink: attach the location, quantize, count,
// and offer the result to the spool. It never waits for the disk: a full
// queue drops the result and counts it (jangkau_probe_spool_dropped_total
// {reason="queue_full"}), and the spool's writer logs it. The result is
// durable once the writer's next group commit returns; Uploader.Flush
// runs Spool.Sync first, so shutdown leaves nothing in memory.
func (p *Probe) record(r wire.Result) {
	if r.Location == nil {
		r.Location = p.location()
	}
	quantize(&r)
	p.metrics.result(r)
	if err := p.spool.Offer(r); errors.Is(err, spool.ErrClosed) {
		p.log.Error("result lost: spool closed", "check", r.Check)
	}
}

// quantize rounds what a result measured to the precision that means
// something: durations and phases to the microsecond (0.001 ms), the start
// time to the millisecond. The nanosecond digits a clock gives are noise
// that gzip cannot compress (BenchmarkBatchBytes measures what they cost
// on the wire).
func quantize(r *wire.Result) {
	r.Time = r.Time.Truncate(time.Millisecond)
	r.DurationMS = roundMicro(r.DurationMS)
	for k, v := range r.Phases {
		if k != "sent" && k != "received" {
			r.Phases[k] = roundMicro(v)
		}
	}
}

// roundMicro rounds milliseconds to three decimals.
func roundMicro(ms float64) float64 { return math.Round(ms*1e3) / 1e3 }
