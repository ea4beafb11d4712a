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

// Rollups implements store.RollupReader. InfluxDB keeps raw points only:
// the rows are built here from the window's points, so every percentile
// comes from the raw durations through one sketch per row, never from
// averaged percentiles.
func (s *Store) Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if res != rollup.Minute && res != rollup.Hour {
		return fmt.Errorf("influx: no rollups at resolution %s", res)
	}
	// Buckets b with from <= b < to hold the points in [ceil(from), ceil(to)).
	lo, hi := ceil(from, res), ceil(to, res)
	if !lo.Before(hi) {
		return nil
	}
	q := fmt.Sprintf(`SELECT ok, duration_ms, phase_loss, tile, carrier, kind, probe, region, service FROM %s WHERE time >= %d AND time < %d`,
		measResult, lo.UnixNano(), hi.UnixNano())
	rows := map[rollup.Key]*rollup.Agg{}
	err := s.query(ctx, q, true, func(_ int, sr *series) error {
		c := columnsOf(sr)
		for _, v := range sr.Values {
			r := row{c: c, v: v, tags: sr.Tags}
			pr := wire.Result{Time: time.Unix(0, r.int("time")).UTC(), Kind: r.str("kind"), OK: r.bool("ok")}
			pr.DurationMS, _ = r.float("duration_ms")
			if loss, ok := r.float("phase_loss"); ok {
				pr.Phases = map[string]float64{"loss": loss}
			}
			k := rollup.Key{Res: res, Bucket: pr.Time.Truncate(res).UnixNano(), Cell: rollup.Cell{
				Region: r.str("region"), Tile: r.str("tile"), Carrier: r.str("carrier"),
				Service: r.str("service"), Kind: pr.Kind, Probe: r.str("probe")}}
			a := rows[k]
			if a == nil {
				a = rollup.NewAgg()
				rows[k] = a
			}
			a.Add(&pr)
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("influx: rollups %s [%s, %s): %w", res, from, to, err)
	}
	keys := make([]rollup.Key, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollup.Key) int {
		if c := cmp.Compare(a.Bucket, b.Bucket); c != 0 {
			return c
		}
		return strings.Compare(string(a.Cell.AppendKey(nil)), string(b.Cell.AppendKey(nil)))
	})
	for _, k := range keys {
		if err := fn(time.Unix(0, k.Bucket).UTC(), k.Cell, rows[k]); err != nil {
			return err
		}
	}
	return nil
}

// ceil rounds t up to a multiple of d.
func ceil(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); f.Before(t) {
		return f.Add(d)
	}
	return t
}
