// Package influx is the Store on InfluxDB, for when one machine is not
// enough: several stateless collectors behind a load balancer write to one
// InfluxDB. Writes go through influxdb-client-go/v2's blocking write API
// (a Write returns only after InfluxDB accepted the points: that is what
// the collector acknowledges); reads are InfluxQL over /query, which
// InfluxDB 1.8, 2.x (v1-compatible API with a DBRP mapping) and 3 serve.
//
// # Schema
//
// Measurement jangkau_result, one point per result:
//
//	tags    probe, check, kind, service (the e-service, or "uplink"),
//	        carrier, region (deepest region code of the result's cell),
//	        kab (the region's level-2 ancestor, for dashboards)
//	fields  seq (integer), ok (boolean), duration_ms (float),
//	        status_code (integer, absent when 0), error_class, error,
//	        target, tile (quadkey) (strings, absent when empty),
//	        lat, lon (floats, survey results only),
//	        phase_<name> (float, one per phase: phase_connect, phase_loss, ...)
//	time    the result's time, at the configured precision (ms default)
//
// Tags stay low-cardinality: every tag is bounded by configuration
// (probes, their checks, carriers, regions); check and service names the
// catalogue does not have are bounded per probe by the collector before
// they reach a store (limits.max_unknown_names_per_probe, "other" beyond). The tile is a field: a
// survey probe crosses an unbounded number of tiles, and as a tag each
// would make new series. seq, target and the error text are fields for the
// same reason.
//
// A resent result has the same measurement, tag set and timestamp, so
// InfluxDB overwrites it: a result is stored once however often it
// arrives and through however many collectors. (The tags come from the
// collector's configuration of the probe: changing a probe's carrier or
// region while it still resends old results would store those twice.)
//
// Measurement jangkau_probe_state, one point per Write that changed
// something, tag probe, fields acked_seq, stored (results with seq <=
// acked_seq), lost, last_seq, last_seen (unix ns, collector clock),
// pending (settled seqs above acked_seq: "s14-20,r22" for stored and
// rejected), and the probe's spool epochs (epoch.go: epoch, old_epochs,
// epochs, unspooled, dropped). Its time is the collector's clock, after the newest state
// point the Write read, plus a random offset under a millisecond: two
// collectors never overwrite each other's point. It is written after the
// results it counts, so that a crash between the two can only undercount,
// and the next Write, finding the results in jangkau_result, counts them.
// A probe's state is the merge of its newest state points (furthest
// acknowledgement, union of pending) within the newest point's epoch:
// what two collectors write for one probe at the same moment both count.
//
// Measurement jangkau_probe_names: the check and e-service names each probe
// was let introduce beyond the catalogue (names.go).
//
// # Rollups
//
// Coverage, tiles, services and blank spots read pre-aggregated rollups,
// never raw points (rollups.go). Measurements jangkau_rollup_1m and
// jangkau_rollup_1h, one point per bucket, probe, region, carrier,
// service and kind per collector:
//
//	tags    probe, region, kab, carrier, service, kind, collector
//	fields  count, ok, loss_n, last (integers; last: unix ns of the
//	        newest result), loss_sum (float), p50_ms, p95_ms (floats,
//	        absent without a successful result; for dashboards only),
//	        cells (string: base64 of, per tile, uvarint length + quadkey,
//	        uvarint length + rollup.Agg.AppendBinary, with the DDSketch)
//	time    the bucket's start
//
// The tile is inside cells, not a tag: a survey probe crosses an
// unbounded number of tiles.
//
// A point is never a delta but a snapshot: after a Write has written its
// raw points, it reads the probe's raw points of every minute the batch
// touched (stored now or found held), writes each minute's complete
// aggregate, then reads every minute point of those hours (all
// collectors') and writes each hour's aggregate of them. Readers keep, per
// point but for the collector tag, the one with the largest count. The
// argument: InfluxDB holds a set of results per minute that only grows; a
// read that follows a write sees it; of two Writes into one minute, each
// reads after its own raw write, so the later reader sees both (if A read
// before B wrote and B read before A wrote, each would have read before
// the other's write, which follows its own read: a cycle). So snapshots of
// one minute are ordered by inclusion, the largest count is the newest,
// and the last read, which follows every raw write, sees them all: no
// double count, no lost result, whatever the order the snapshots land in.
// Hours are the same one level up: minute points are written before the
// hour's read. A resent batch rewrites the same values; a late result
// lands in its own minute and hour.
//
// Limits: a collector that dies between its raw write and its rollup
// points leaves that minute short until a Write touches it again (the
// probe resends the batch it was never acknowledged, which does). Two
// collectors configured with the same collector id overwrite each other's
// snapshots (same series and time): never a double count, but the last
// write rather than the newest snapshot may stay until the next Write
// into that minute. Aggregate figures (loss sums) may differ from the
// embedded store's in the last bit of a float: they are summed in another
// order. Rollups follow the retention policy like raw points; a bucket's
// rollup points lie in the same shard as its raw points.
//
// Measurement jangkau_rollup_change: one point per Write with rollups
// (tag collector; fields first_bucket, last_bucket), that every store
// polls to stamp what other collectors changed (changes.go).
//
// # Consistency with several collectors
//
// Results and the rollups are exact (above), and so are
// results_stored, acked_seq and lost but for the race below. Within one
// collector a probe's Writes are serialised, so every answer's
// stored/duplicate counts are exact too. Across collectors, a
// batch resent to a second collector while the first still writes it may
// be reported as stored by both (the point is still stored once, and
// counted once in the state), and a probe that skips ahead (first_seq) on
// one collector while another stores the seqs it skipped at that moment
// may have those counted as lost rather than stored.
// The acknowledgement never claims a seq that is not stored or settled.
// State points follow the retention policy like everything else: a probe
// silent for longer than it starts afresh.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/stamps"
	"github.com/jangkau/jangkau/wire"
)

const (
	measResult  = "jangkau_result"
	measState   = "jangkau_probe_state"
	phasePrefix = "phase_"
	chunkSize   = 10000
)

// Config says where InfluxDB is.
type Config struct {
	// URL of the server, e.g. http://127.0.0.1:8086.
	URL string
	// Token: "user:password" for 1.8, an API token for 2.x and 3.
	Token string
	// Org is the 2.x organisation; 1.8 ignores it.
	Org string
	// Bucket: "database/retention-policy" (or "database") for 1.8; for
	// 2.x a bucket whose DBRP mapping has the same database/rp name.
	Bucket string
	// Precision of stored times: time.Millisecond (default),
	// time.Microsecond or time.Nanosecond. Keep it once data exists:
	// idempotence needs a resent result to get the same timestamp.
	Precision time.Duration
	// Timeout bounds each write and each small query (default 10s).
	Timeout time.Duration
	// CollectorID is the collector tag of the rollup points this store
	// writes (default: the host name); see CheckCollectorID.
	CollectorID string
	// ChangePoll is how often, at most, the store reads the rollup change
	// log to learn other collectors' writes (default DefaultChangePoll).
	ChangePoll time.Duration
}

// Store is the InfluxDB implementation of store.Store.
type Store struct {
	url, token string
	db, rp     string
	precision  time.Duration
	timeout    time.Duration
	client     influxdb2.Client
	write      api.WriteAPIBlocking
	http       *http.Client
	transport  *http.Transport
	log        *slog.Logger
	closed     atomic.Bool
	accept     string // the Accept header of /query (msgpackAccept unless a test sets it)

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per probe: one collector's Writes of a probe run one at a time

	collector  string // the collector tag of rollup and change points
	changePoll time.Duration
	stamps     *stamps.Stamps
	gen        atomic.Uint64
	pollMu     sync.Mutex
	polled     time.Time          // when the change log was last read
	seen       map[changeKey]bool // change points applied (or written) since polled-changeSlack
	chunks     chunks             // hours of minute points kept for the spans of a view (chunks.go)
}

var _ store.Store = (*Store)(nil)

// Open connects to InfluxDB and checks that the database answers.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.URL == "" || cfg.Bucket == "" {
		return nil, errors.New("influx: url and bucket are required")
	}
	if cfg.Precision == 0 {
		cfg.Precision = time.Millisecond
	}
	switch cfg.Precision {
	case time.Millisecond, time.Microsecond, time.Nanosecond:
	default:
		return nil, fmt.Errorf("influx: precision %s: 1ms, 1us or 1ns", cfg.Precision)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CollectorID == "" {
		id, err := defaultCollectorID()
		if err != nil {
			return nil, fmt.Errorf("influx: %w", err)
		}
		cfg.CollectorID = id
	}
	if err := CheckCollectorID(cfg.CollectorID); err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	if cfg.ChangePoll <= 0 {
		cfg.ChangePoll = DefaultChangePoll
	}
	db, rp, _ := strings.Cut(cfg.Bucket, "/")
	tr := &http.Transport{
		Proxy:                 nil, // InfluxDB is reached directly, never through an environment proxy
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64, // concurrent probes' writes reuse connections
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		ForceAttemptHTTP2:     true,
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(&http.Client{Transport: tr, Timeout: cfg.Timeout}).
		SetPrecision(time.Nanosecond). // results are truncated to cfg.Precision before
		SetApplicationName("jangkau")
	s := &Store{
		url: strings.TrimRight(cfg.URL, "/"), token: cfg.Token, db: db, rp: rp,
		precision: cfg.Precision, timeout: cfg.Timeout,
		client:    influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts),
		http:      &http.Client{Transport: tr},
		transport: tr, log: log, locks: map[string]*sync.Mutex{},
		collector: cfg.CollectorID, changePoll: cfg.ChangePoll, stamps: stamps.New(),
		polled: time.Now(), seen: map[changeKey]bool{},
	}
	s.write = s.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)
	qctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := s.exec(qctx, "SHOW MEASUREMENTS LIMIT 1"); err != nil {
		s.Close()
		return nil, fmt.Errorf("influx: open %s bucket %s: %w", cfg.URL, cfg.Bucket, err)
	}
	if err := s.checkRollups(qctx, 24*time.Hour); errors.Is(err, errNoRollups) {
		log.Warn("InfluxDB holds results of the last 24 h without rollups (written before this version): "+
			"coverage, tiles and services will not show them until they are rebuilt", "command", RebuildCommand)
	} else if err != nil {
		log.Warn("could not check for rollups", "err", err)
	}
	return s, nil
}

// Close releases the client's connections; later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.client.Close()
	s.transport.CloseIdleConnections()
	return nil
}

func (s *Store) probeLock(id string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[id]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	return l
}

// Write implements store.Store: read the probe's state and which of the
// batch's seqs InfluxDB already holds (one round trip), write the new
// results, then the new state.
func (s *Store) Write(ctx context.Context, w store.Write) (store.WriteResult, error) {
	if s.closed.Load() {
		return store.WriteResult{}, store.ErrClosed
	}
	if err := store.CheckSeqs(&w); err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: %w", err)
	}
	l := s.probeLock(w.Probe)
	l.Lock()
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, have, err := s.readForWrite(ctx, w)
	if err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: write %d results of probe %s: %w", len(w.Results), w.Probe, err)
	}
	var epoch store.WriteResult
	if err := st.nextEpoch(&w, &epoch); err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: %w", err)
	}
	if err := store.CheckGap(&w, st.acked); err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: %w", err)
	}
	res, lines, err := s.apply(&st, have, w)
	if err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: %w", err)
	}
	res.NewEpoch, res.EpochLost, res.Unspooled = epoch.NewEpoch, epoch.EpochLost, epoch.Unspooled
	if len(lines) > 0 {
		if err := s.write.WriteRecord(ctx, string(lines)); err != nil {
			return store.WriteResult{}, fmt.Errorf("influx: write %d results of probe %s: %w", res.Stored, w.Probe, err)
		}
	}
	// The rollups of every minute the batch touched, stored now or before
	// (a resend after a crash between the two writes mends them), then
	// the state and the change point in one request.
	minutes := touched(w.Results)
	if err := s.rebuild(ctx, "probe = "+quoteString(w.Probe)+" AND "+serviceFilter(w), minutes); err != nil {
		return store.WriteResult{}, fmt.Errorf("influx: rollups of probe %s: %w", w.Probe, err)
	}
	var last []byte
	if st.changed {
		// After every state point this Write read, and at a random
		// nanosecond: two collectors writing a probe's state in the same
		// millisecond must not overwrite each other's point.
		ts := max(time.Now().UnixNano(), st.newest+1) + rand.Int64N(int64(time.Millisecond))
		last = appendState(last, w.Probe, &st, ts)
	}
	var change changeKey
	if len(minutes) > 0 {
		last, change = s.appendChange(last, minutes)
	}
	if len(last) > 0 {
		if err := s.write.WriteRecord(ctx, string(last)); err != nil {
			return store.WriteResult{}, fmt.Errorf("influx: write state of probe %s: %w", w.Probe, err)
		}
	}
	if len(minutes) > 0 {
		s.wroteOwn(minutes, change)
	}
	res.AckedSeq = st.acked
	return res, nil
}

// held is a result InfluxDB holds at a seq of the batch's window.
type held struct {
	time         int64
	kind, target string
}

// holds says whether have has r as it was sent: same seq and time (at the
// store's precision), kind and target.
func (s *Store) holds(have map[uint64][]held, r *wire.Result) bool {
	for _, h := range have[r.Seq] {
		if h.time == s.truncate(r.Time) && store.SameResult(&wire.Result{Kind: h.kind, Target: h.target}, r) {
			return true
		}
	}
	return false
}

// apply settles the batch in st and returns the lines of the results to
// store. A result at a settled seq that InfluxDB does not hold as sent
// is a conflict: it returns a *store.ConflictError and st must be
// dropped. (A seq settled as rejected is not judged.)
func (s *Store) apply(st *probeState, have map[uint64][]held, w store.Write) (store.WriteResult, []byte, error) {
	var res store.WriteResult
	var lines []byte
	var conflicts store.Conflicts
	withCells := len(w.Cells) == len(w.Results)
	inBatch := make(map[uint64]bool, len(w.Results))
	for i := range w.Results {
		r := &w.Results[i]
		if inBatch[r.Seq] {
			res.Duplicates++
			continue
		}
		if r.Seq <= st.acked || st.pending[r.Seq] != 0 {
			if st.pending[r.Seq] != markRejected && !s.holds(have, r) {
				conflicts.Add(&w, r.Seq)
			}
			res.Duplicates++
			continue
		}
		inBatch[r.Seq] = true
		st.pending[r.Seq] = markStored
		st.lastSeq = max(st.lastSeq, r.Seq)
		st.changed = true
		if s.holds(have, r) {
			// Stored by another collector, or by a Write whose state
			// point never made it: count it now, store it not again.
			res.Duplicates++
			continue
		}
		var cell rollup.Cell
		if withCells {
			cell = w.Cells[i]
		}
		lines = appendResult(lines, w.Probe, r, cell, s.precision)
		res.Stored++
	}
	for _, seq := range w.Rejected {
		if seq > st.acked && st.pending[seq] == 0 {
			st.pending[seq] = markRejected
			st.changed = true
		}
	}
	if err := conflicts.Err(); err != nil {
		return store.WriteResult{}, nil, err
	}
	st.settleBelow(w.FirstSeq)
	st.advance()
	if res.Stored > 0 {
		st.lastSeen = max(st.lastSeen, w.Received.UnixNano())
	}
	return res, lines, nil
}

// readForWrite reads the probe's state and the seqs of w that InfluxDB
// holds already, in one request.
func (s *Store) readForWrite(ctx context.Context, w store.Write) (probeState, map[uint64][]held, error) {
	q := stateQuery(w.Probe)
	if len(w.Results) > 0 {
		t0, t1 := w.Results[0].Time, w.Results[0].Time
		lo, hi := w.Results[0].Seq, w.Results[0].Seq
		for _, r := range w.Results {
			t0, t1 = minTime(t0, r.Time), maxTime(t1, r.Time)
			lo, hi = min(lo, r.Seq), max(hi, r.Seq)
		}
		q += fmt.Sprintf("; SELECT seq, target, kind FROM %s WHERE probe = %s AND time >= %d AND time <= %d AND seq >= %d AND seq <= %d",
			measResult, quoteString(w.Probe), s.truncate(t0), s.truncate(t1), lo, hi)
	}
	var rows []stateRow
	// A seq of another epoch may lie in the same window: only the same
	// seq at the same time is the same result.
	have := map[uint64][]held{}
	err := s.query(ctx, q, false, func(stmt int, sr *series) error {
		if stmt == 0 {
			return appendStateRows(&rows, sr)
		}
		c := columnsOf(sr)
		for _, v := range sr.Values {
			r := row{c: c, v: v}
			seq := uint64(r.int("seq"))
			have[seq] = append(have[seq], held{time: r.int("time"), kind: r.str("kind"), target: r.str("target")})
		}
		return nil
	})
	if err != nil {
		return probeState{}, nil, err
	}
	return mergeState(rows), have, nil
}

func stateQuery(probeID string) string {
	return fmt.Sprintf("SELECT * FROM %s WHERE probe = %s ORDER BY time DESC LIMIT %d", measState, quoteString(probeID), stateLimit)
}

func appendStateRows(rows *[]stateRow, sr *series) error {
	c := columnsOf(sr)
	for _, v := range sr.Values {
		r := row{c: c, v: v, tags: sr.Tags}
		sr := stateRow{time: r.int("time"), acked: uint64(r.int("acked_seq")), stored: uint64(r.int("stored")),
			lost: uint64(r.int("lost")), lastSeq: uint64(r.int("last_seq")), lastSeen: r.int("last_seen"),
			pending: map[uint64]byte{}, epochs: readEpochs(r)}
		if err := decodePending(r.str("pending"), sr.pending); err != nil {
			return fmt.Errorf("state of probe %s: %w", r.str("probe"), err)
		}
		*rows = append(*rows, sr)
	}
	return nil
}

func mergeState(rows []stateRow) probeState {
	st := probeState{pending: map[uint64]byte{}}
	for _, r := range sameEpoch(rows) {
		st.mergeRow(r)
	}
	st.settle()
	st.changed = false
	return st
}

// truncate is t as stored: unix ns at the store's precision.
func (s *Store) truncate(t time.Time) int64 {
	return stamp(t, s.precision) * int64(s.precision)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
