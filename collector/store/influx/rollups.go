package influx

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// Rollups on InfluxDB: see the package doc (# Rollups) for the schema and
// why a point is a snapshot, never a delta.

const (
	measRollupMinute = "jangkau_rollup_1m"
	measRollupHour   = "jangkau_rollup_1h"
)

// RollupMeasurements name the rollup measurements by resolution, and
// RollupTags and RollupFields their keys, for dashboards written against
// them (TestRollupSchemaNames checks them against the encoder).
var RollupMeasurements = map[time.Duration]string{rollup.Minute: measRollupMinute, rollup.Hour: measRollupHour}

// RollupTags are the tag keys of the rollup measurements.
var RollupTags = []string{"carrier", "collector", "kab", "kind", "probe", "region", "service"}

// RollupFields are their field keys (p50_ms and p95_ms are absent without
// a successful result).
var RollupFields = []string{"count", "ok", "loss_sum", "loss_n", "last", "p50_ms", "p95_ms", "cells"}

// rollSeries is one rollup series but for the collector: a probe's results of
// one region, carrier, service and kind (the tile is inside, in cells).
type rollSeries struct {
	probe, region, carrier, service, kind string
}

// pointKey is one rollup point whatever collector wrote it.
type pointKey struct {
	rollSeries
	bucket int64 // unix ns of the bucket's start
}

// tileAggs are a point's aggregates by tile quadkey.
type tileAggs map[string]*rollup.Agg

func (t tileAggs) add(tile string, r *wire.Result) {
	a := t[tile]
	if a == nil {
		a = rollup.NewAgg()
		t[tile] = a
	}
	a.Add(r)
}

// encodeCells is the cells field: base64 (standard encoding) of, per tile
// in quadkey order, uvarint length + quadkey, uvarint length + the
// aggregate's rollup.Agg.AppendBinary.
func encodeCells(t tileAggs) string {
	tiles := make([]string, 0, len(t))
	for k := range t {
		tiles = append(tiles, k)
	}
	slices.Sort(tiles)
	var b, agg []byte
	for _, k := range tiles {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		agg = t[k].AppendBinary(agg[:0])
		b = binary.AppendUvarint(b, uint64(len(agg)))
		b = append(b, agg...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

var errCells = errors.New("bad cells field")

// decodeCells calls fn for each tile of a cells field with a lazily
// decoded aggregate that keeps pointing into the decoded bytes.
func decodeCells(s string, fn func(tile string, a *rollup.Agg) error) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: %w", errCells, err)
	}
	for len(b) > 0 {
		var part [2][]byte
		for i := range part {
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errCells
			}
			part[i], b = b[n:n+int(l):n+int(l)], b[n+int(l):]
		}
		a, err := rollup.DecodeAggLazy(part[1])
		if err != nil {
			return fmt.Errorf("%w: tile %q: %w", errCells, part[0], err)
		}
		if err := fn(string(part[0]), a); err != nil {
			return err
		}
	}
	return nil
}

// appendRollup appends one rollup point as a line.
func appendRollup(b []byte, meas, collector string, k pointKey, t tileAggs) []byte {
	total := rollup.NewAgg()
	for _, a := range t {
		total.Merge(a) // a built here: its sketch is decoded, Merge cannot fail
	}
	b = append(b, meas...)
	b = appendTag(b, "carrier", k.carrier)
	b = appendTag(b, "collector", collector)
	b = appendTag(b, "kab", region.Ancestor(k.region, 2))
	b = appendTag(b, "kind", k.kind)
	b = appendTag(b, "probe", k.probe)
	b = appendTag(b, "region", k.region)
	b = appendTag(b, "service", k.service)
	b = append(b, " count="...)
	b = strconv.AppendUint(b, total.Count, 10)
	b = append(b, "i,ok="...)
	b = strconv.AppendUint(b, total.OK, 10)
	b = append(b, "i,loss_n="...)
	b = strconv.AppendUint(b, total.LossN, 10)
	b = append(b, 'i')
	b = appendFloat(b, "loss_sum", total.LossSum)
	b = append(b, ",last="...)
	b = strconv.AppendInt(b, total.Last, 10)
	b = append(b, 'i')
	if total.OK > 0 {
		b = appendFloat(b, "p50_ms", total.Quantile(0.5))
		b = appendFloat(b, "p95_ms", total.Quantile(0.95))
	}
	b = appendString(b, "cells", encodeCells(t))
	b = append(b, ' ')
	b = strconv.AppendInt(b, k.bucket, 10)
	return append(b, '\n')
}

// seriesOf reads a rollup or result series' tags (of a GROUP BY).
func seriesOf(tags map[string]string) rollSeries {
	return rollSeries{probe: tags["probe"], region: tags["region"], carrier: tags["carrier"],
		service: tags["service"], kind: tags["kind"]}
}

// span is [from, to) in unix ns.
type span struct{ from, to int64 }

// runs merges sorted, distinct bucket starts of width step into
// contiguous spans.
func runs(buckets []int64, step time.Duration) []span {
	var out []span
	for _, b := range buckets {
		if n := len(out); n > 0 && out[n-1].to == b {
			out[n-1].to = b + int64(step)
			continue
		}
		out = append(out, span{b, b + int64(step)})
	}
	return out
}

// spanStatements is one SELECT per span, to send as one request: InfluxQL has
// no OR of time ranges. filter ("" or "probe = 'x' AND ") comes first;
// groupBy "" is none.
func spanStatements(sel, meas, filter, groupBy string, spans []span) string {
	var q strings.Builder
	for i, sp := range spans {
		if i > 0 {
			q.WriteString("; ")
		}
		fmt.Fprintf(&q, "SELECT %s FROM %s WHERE %stime >= %d AND time < %d", sel, meas, filter, sp.from, sp.to)
		if groupBy != "" {
			q.WriteString(" GROUP BY " + groupBy)
		}
	}
	return q.String()
}

// minutePoints reads the raw points of the minute spans (of one probe
// when filter says so) and aggregates them into minute points: what
// InfluxDB holds now, whatever collector wrote it.
func (s *Store) minutePoints(ctx context.Context, filter string, spans []span) (map[pointKey]tileAggs, error) {
	out := map[pointKey]tileAggs{}
	if len(spans) == 0 {
		return out, nil
	}
	q := spanStatements("ok, duration_ms, phase_loss, tile", measResult, filter, "carrier, kind, probe, region, service", spans)
	err := s.query(ctx, q, true, func(_ int, sr *series) error {
		rs := seriesOf(sr.Tags)
		c := columnsOf(sr)
		for _, v := range sr.Values {
			r := row{c: c, v: v}
			pr := wire.Result{Time: time.Unix(0, r.int("time")), Kind: rs.kind, OK: r.bool("ok")}
			pr.DurationMS, _ = r.float("duration_ms")
			if loss, ok := r.float("phase_loss"); ok {
				pr.Phases = map[string]float64{"loss": loss}
			}
			k := pointKey{rs, pr.Time.Truncate(rollup.Minute).UnixNano()}
			t := out[k]
			if t == nil {
				t = tileAggs{}
				out[k] = t
			}
			t.add(r.str("tile"), &pr)
		}
		return ctx.Err()
	})
	return out, err
}

// stored is the point of one pointKey that the max-count rule keeps.
type stored struct {
	count uint64
	cells string
}

// readPoints reads the points of meas in the spans, keeping per pointKey
// the one with the largest count across collectors: each is a snapshot of
// a set that only grows, so the largest is the newest.
func (s *Store) readPoints(ctx context.Context, meas, filter string, spans []span) (map[pointKey]stored, error) {
	out := map[pointKey]stored{}
	if len(spans) == 0 {
		return out, nil
	}
	// The tags come as columns of one series rather than as GROUP BY *
	// series: InfluxDB answers that faster (docs/benchmarks.md).
	q := spanStatements(`"count", cells, carrier, kind, probe, region, service`, meas, filter, "", spans)
	err := s.query(ctx, q, true, func(_ int, sr *series) error {
		c := columnsOf(sr)
		for _, v := range sr.Values {
			r := row{c: c, v: v, tags: sr.Tags}
			k := pointKey{rollSeries{probe: r.str("probe"), region: r.str("region"), carrier: r.str("carrier"),
				service: r.str("service"), kind: r.str("kind")}, r.int("time")}
			n := uint64(r.int("count"))
			if old, ok := out[k]; !ok || n > old.count {
				out[k] = stored{n, r.str("cells")}
			}
		}
		return ctx.Err()
	})
	return out, err
}

// hourPoints builds the hour points of the hour spans from the minute
// points InfluxDB holds (max-count rule per minute).
func (s *Store) hourPoints(ctx context.Context, filter string, spans []span) (map[pointKey]tileAggs, error) {
	minutes, err := s.readPoints(ctx, measRollupMinute, filter, spans)
	if err != nil {
		return nil, err
	}
	out := map[pointKey]tileAggs{}
	for k, p := range minutes {
		hk := pointKey{k.rollSeries, time.Unix(0, k.bucket).Truncate(rollup.Hour).UnixNano()}
		t := out[hk]
		if t == nil {
			t = tileAggs{}
			out[hk] = t
		}
		err := decodeCells(p.cells, func(tile string, a *rollup.Agg) error {
			h := t[tile]
			if h == nil {
				h = rollup.NewAgg()
				t[tile] = h
			}
			return h.Merge(a)
		})
		if err != nil {
			return nil, fmt.Errorf("minute point of probe %s at %s: %w", k.probe, time.Unix(0, k.bucket).UTC(), err)
		}
	}
	return out, nil
}

// writeLinesMax bounds the bytes of one write request of rollup points.
const writeLinesMax = 4 << 20

// writePoints writes points of meas, in requests of bounded size.
func (s *Store) writePoints(ctx context.Context, meas string, points map[pointKey]tileAggs) error {
	var b []byte
	for k, t := range points {
		b = appendRollup(b, meas, s.collector, k, t)
		if len(b) >= writeLinesMax {
			if err := s.write.WriteRecord(ctx, string(b)); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if len(b) == 0 {
		return nil
	}
	return s.write.WriteRecord(ctx, string(b))
}

// maxServiceFilter bounds the services serviceFilter names; a batch of
// more rebuilds every series of its probe.
const maxServiceFilter = 16

// serviceFilter limits a Write's rollup rebuild to the series its results
// belong to ("(service = 'a' OR service = 'b') AND "): the service tag as
// appendResult writes it, so that a batch of one check rereads that
// check's minute and hour points rather than every check's of the probe.
// Rebuilding a series the batch did not touch is harmless (it rewrites
// the same values); leaving out one it touched is not.
func serviceFilter(w store.Write) string {
	var services []string
	for i := range w.Results {
		sv := w.Results[i].Service
		if len(w.Cells) == len(w.Results) && w.Cells[i].Service != "" {
			sv = w.Cells[i].Service
		}
		if sv == "" {
			sv = rollup.Uplink
		}
		if !slices.Contains(services, sv) {
			if len(services) == maxServiceFilter {
				return ""
			}
			services = append(services, sv)
		}
	}
	if len(services) == 0 {
		return ""
	}
	slices.Sort(services)
	var b strings.Builder
	b.WriteString("(")
	for i, sv := range services {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("service = " + quoteString(sv))
	}
	b.WriteString(") AND ")
	return b.String()
}

// touched is the sorted, distinct minute buckets of results.
func touched(results []wire.Result) []int64 {
	out := make([]int64, 0, 4)
	for i := range results {
		out = append(out, results[i].Time.Truncate(rollup.Minute).UnixNano())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// hoursOf is the sorted, distinct hours of sorted minute buckets.
func hoursOf(minutes []int64) []int64 {
	var out []int64
	for _, m := range minutes {
		h := time.Unix(0, m).Truncate(rollup.Hour).UnixNano()
		if n := len(out); n == 0 || out[n-1] != h {
			out = append(out, h)
		}
	}
	return out
}

// rebuild writes the complete rollup points of the minutes (and of the
// hours that hold them) from what InfluxDB holds, in this order: read the
// raw points of the minutes, write the minute points, read every minute
// point of the hours, write the hour points. Each read follows the
// writes it must see (package doc, # Rollups).
func (s *Store) rebuild(ctx context.Context, filter string, minutes []int64) error {
	if len(minutes) == 0 {
		return nil
	}
	mp, err := s.minutePoints(ctx, filter, runs(minutes, rollup.Minute))
	if err != nil {
		return fmt.Errorf("read raw points for minute rollups: %w", err)
	}
	if err := s.writePoints(ctx, measRollupMinute, mp); err != nil {
		return fmt.Errorf("write %d minute rollup points: %w", len(mp), err)
	}
	hp, err := s.hourPoints(ctx, filter, runs(hoursOf(minutes), rollup.Hour))
	if err != nil {
		return fmt.Errorf("read minute rollups for hour rollups: %w", err)
	}
	if err := s.writePoints(ctx, measRollupHour, hp); err != nil {
		return fmt.Errorf("write %d hour rollup points: %w", len(hp), err)
	}
	return nil
}

// rollupSlice is the span of one query of Rollups at each resolution: a
// slice's points are held (the largest count per point across
// collectors wins) before they go out in time and cell-key order.
var rollupSlice = map[time.Duration]time.Duration{rollup.Minute: time.Hour, rollup.Hour: 24 * time.Hour}

// Rollups implements store.RollupReader from the rollup measurement of
// res, never from raw points: per point the newest snapshot (largest
// count) across collectors, its cells decoded into one row per tile, in
// bucket order and, within a bucket, in cell-key order as the embedded
// store gives them. The window is read in slices (rollupSlice), so that
// a long window is never held whole. The aggregates are lazy
// (rollup.DecodeAggLazy).
func (s *Store) Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	meas, ok := RollupMeasurements[res]
	if !ok {
		return fmt.Errorf("influx: no rollups at resolution %s", res)
	}
	type cellRow struct {
		key  string
		cell rollup.Cell
		agg  *rollup.Agg
	}
	var rows []cellRow
	for f := from; f.Before(to); {
		t := f.Truncate(rollupSlice[res]).Add(rollupSlice[res])
		if t.After(to) {
			t = to
		}
		sp := span{f.UnixNano(), t.UnixNano()}
		points, ok := map[pointKey]stored(nil), false
		if res == rollup.Minute {
			points, ok = s.minuteChunk(ctx, f.Truncate(rollup.Hour).UnixNano(), sp)
		}
		if !ok {
			var err error
			if points, err = s.readPoints(ctx, meas, "", []span{sp}); err != nil {
				return fmt.Errorf("influx: rollups %s [%s, %s): %w", res, from, to, err)
			}
		}
		keys := make([]pointKey, 0, len(points))
		for k := range points {
			if k.bucket >= sp.from && k.bucket < sp.to { // a chunk holds the whole hour
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b pointKey) int { return cmp.Compare(a.bucket, b.bucket) })
		for i := 0; i < len(keys); {
			b := keys[i].bucket
			rows = rows[:0]
			for ; i < len(keys) && keys[i].bucket == b; i++ {
				k := keys[i]
				err := decodeCells(points[k].cells, func(tile string, a *rollup.Agg) error {
					c := rollup.Cell{Region: k.region, Tile: tile, Carrier: k.carrier, Service: k.service, Kind: k.kind, Probe: k.probe}
					rows = append(rows, cellRow{string(c.AppendKey(nil)), c, a})
					return nil
				})
				if err != nil {
					return fmt.Errorf("influx: rollup point of probe %s at %s: %w", k.probe, time.Unix(0, b).UTC(), err)
				}
			}
			slices.SortFunc(rows, func(x, y cellRow) int { return strings.Compare(x.key, y.key) })
			bt := time.Unix(0, b).UTC()
			for _, r := range rows {
				if err := fn(bt, r.cell, r.agg); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		f = t
	}
	return nil
}
