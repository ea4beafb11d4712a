package influx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// Probes implements store.Store: the merge of each probe's newest state
// points.
func (s *Store) Probes(ctx context.Context) ([]store.ProbeState, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	byProbe := map[string][]stateRow{}
	q := fmt.Sprintf("SELECT * FROM %s GROUP BY probe ORDER BY time DESC LIMIT %d", measState, stateLimit)
	err := s.query(ctx, q, false, func(_ int, sr *series) error {
		rows := byProbe[sr.Tags["probe"]]
		err := appendStateRows(&rows, sr)
		byProbe[sr.Tags["probe"]] = rows
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("influx: read probes: %w", err)
	}
	out := make([]store.ProbeState, 0, len(byProbe))
	for id, rows := range byProbe {
		st := mergeState(rows)
		out = append(out, st.public(id))
	}
	slices.SortFunc(out, func(a, b store.ProbeState) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Scan implements store.Store, streaming the window's raw points.
func (s *Store) Scan(ctx context.Context, from, to time.Time, fn func(store.Record) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	q := fmt.Sprintf("SELECT * FROM %s WHERE time >= %d AND time < %d", measResult, from.UnixNano(), to.UnixNano())
	err := s.query(ctx, q, true, func(_ int, sr *series) error {
		c := columnsOf(sr)
		for _, v := range sr.Values {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(recordOf(row{c: c, v: v, tags: sr.Tags})); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// recordOf rebuilds a result from its point.
func recordOf(r row) store.Record {
	rec := store.Record{Probe: r.str("probe"), Result: wire.Result{
		Seq: uint64(r.int("seq")), Time: time.Unix(0, r.int("time")).UTC(),
		Check: r.str("check"), Kind: r.str("kind"), Target: r.str("target"),
		Service: r.str("service"), OK: r.bool("ok"), StatusCode: int(r.int("status_code")),
		ErrorClass: wire.ErrorClass(r.str("error_class")), Error: r.str("error"),
	}}
	if rec.Service == rollup.Uplink {
		rec.Service = ""
	}
	rec.DurationMS, _ = r.float("duration_ms")
	lat, okLat := r.float("lat")
	lon, okLon := r.float("lon")
	if okLat && okLon {
		rec.Location = &wire.Location{Lat: lat, Lon: lon}
	}
	for name, i := range r.c {
		if !strings.HasPrefix(name, phasePrefix) || i >= len(r.v) || r.v[i] == nil {
			continue
		}
		if v, ok := r.float(name); ok {
			if rec.Phases == nil {
				rec.Phases = map[string]float64{}
			}
			rec.Phases[strings.TrimPrefix(name, phasePrefix)] = v
		}
	}
	return rec
}
