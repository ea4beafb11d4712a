package dashboards

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	influxstore "github.com/jangkau/jangkau/collector/store/influx"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// influxServer is the InfluxDB 1.8 that scripts/influxdb.sh started, with
// a database of this test's own, dropped at the end.
type influxServer struct {
	cfg        influxstore.Config
	db         string
	user, pass string
}

func newInfluxServer(t *testing.T) *influxServer {
	t.Helper()
	s := &influxServer{cfg: influxstore.Config{URL: os.Getenv("JANGKAU_INFLUXDB_URL"), Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN")}}
	if s.cfg.URL == "" || os.Getenv("JANGKAU_INFLUXDB_BUCKET") == "" {
		testenv.Missing(t, "%s", `no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" to set JANGKAU_INFLUXDB_URL, _TOKEN and _BUCKET`)
	}
	s.user, s.pass, _ = strings.Cut(s.cfg.Token, ":")
	s.db = fmt.Sprintf("jangkau_dash_%d", time.Now().UnixNano())
	// An infinite retention policy (the results are dated 2026-11-27
	// whatever the day), the database's default one, which Grafana reads.
	if _, err := s.query("", fmt.Sprintf(`CREATE DATABASE %q WITH DURATION INF NAME "rp"`, s.db)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := s.query("", fmt.Sprintf(`DROP DATABASE %q`, s.db)); err != nil {
			t.Errorf("drop %s: %v", s.db, err)
		}
	})
	s.cfg.Bucket = s.db + "/rp"
	return s
}

// influxSeries is one series of an InfluxDB /query answer.
type influxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// query runs one InfluxQL statement as Grafana's InfluxQL data source
// does (GET /query, db, epoch=ms, the user and password).
func (s *influxServer) query(db, q string) ([]influxSeries, error) {
	v := url.Values{"q": {q}, "epoch": {"ms"}}
	if db != "" {
		v.Set("db", db)
	}
	req, err := http.NewRequest(http.MethodGet, s.cfg.URL+"/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(s.user, s.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []influxSeries `json:"series"`
			Error  string         `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Error)
	}
	if len(out.Results) != 1 {
		return nil, fmt.Errorf("%s: %d results", q, len(out.Results))
	}
	if e := out.Results[0].Error; e != "" {
		return nil, fmt.Errorf("%s: %s", q, e)
	}
	return out.Results[0].Series, nil
}

// written is one result the test stored, with where it was measured.
type written struct {
	probe string
	r     wire.Result
	cell  rollup.Cell
}

var dashT0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// writeFixture stores two hours of results of four probes in two
// kabupaten through two influx stores with their own collector ids, in
// overlapping batches: each minute's rollup points of the two collectors
// differ where only one of them saw part of it, which is what the panels'
// dedupe is for.
func writeFixture(t *testing.T, s *influxServer) []written {
	t.Helper()
	ctx := context.Background()
	var sts []*influxstore.Store
	for _, id := range []string{"col-a", "col-b"} {
		cfg := s.cfg
		cfg.CollectorID = id
		st, err := influxstore.Open(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sts = append(sts, st)
	}
	// Rows that differ in one tag only, so that a panel grouping by too
	// few tags merges them: p1 and p4 differ only in probe; p2 moves
	// between two kecamatan (one probe, two regions in a minute); portal
	// and portal-tcp differ only in kind, portal-tcp and dukcapil only in
	// service.
	probes := []struct{ id, region, carrier string }{
		{"p1", "36.01.01", "tsel"}, {"p2", "36.01.02", "xl"}, {"p3", "36.02.01", "tsel"}, {"p4", "36.01.01", "tsel"},
	}
	checks := []struct {
		name, kind, service string
		fail                float64
	}{
		{"portal", wire.KindHTTP, "perizinan", 0.15},
		{"portal-tcp", wire.KindTCP, "perizinan", 0.25},
		{"dukcapil", wire.KindTCP, "kependudukan", 0.4},
		{"resolver", wire.KindDNS, rollup.Uplink, 0.05},
	}
	rng := rand.New(rand.NewPCG(17, 5))
	var all []written
	for pi, p := range probes {
		var ws []written
		for k := range 360 { // every 20 s for 2 h
			for ci, c := range checks {
				r := wire.Result{Time: dashT0.Add(time.Duration(k)*20*time.Second + time.Duration(ci)*5*time.Second + time.Duration(pi)*100*time.Millisecond),
					Check: c.name, Kind: c.kind, Target: "https://127.0.0.1:9/", Service: c.service,
					OK: rng.Float64() >= c.fail, DurationMS: float64(5 + rng.IntN(500))}
				if !r.OK {
					r.ErrorClass = []wire.ErrorClass{wire.ClassTimeout, "refused"}[rng.IntN(2)]
				}
				r.Seq = uint64(len(ws) + 1)
				cell := rollup.Cell{Region: p.region, Tile: "13223", Carrier: p.carrier, Service: c.service, Kind: c.kind, Probe: p.id}
				if p.id == "p2" && k%2 == 1 {
					cell.Region, cell.Tile = "36.01.01", "13222"
				}
				ws = append(ws, written{probe: p.id, r: r, cell: cell})
			}
		}
		// Batch i is [90i, 90i+120), through collector a for even i and b
		// for odd i: it resends the first 30 results of the next. Where a
		// batch ends inside a minute, its collector's snapshot of that
		// minute stays partial (it never writes there again), and the
		// next batch's, by the other collector, is complete.
		for i, lo := 0, 0; lo < len(ws); i, lo = i+1, lo+90 {
			w := store.Write{Probe: p.id, Received: dashT0.Add(3 * time.Hour)}
			for _, x := range ws[lo:min(lo+120, len(ws))] {
				w.Results, w.Cells = append(w.Results, x.r), append(w.Cells, x.cell)
			}
			if _, err := sts[i%2].Write(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, ws...)
	}
	return all
}

// grafanaVars are the values a viewer picked, as Grafana's InfluxQL data
// source interpolates them.
type grafanaVars struct {
	from, to time.Time
	interval time.Duration // $__interval
	kab      string
	region   string
	service  string // "" is All (the variable's custom all value .*)
	rollup   time.Duration
}

var grafanaVar = regexp.MustCompile(`\$(\w+)`)

// interpolate replaces Grafana's macros and the dashboard's variables as
// Grafana does for a raw InfluxQL query: $timeFilter is "time >= {from}ms
// and time <= {to}ms", $__interval a duration literal, a single-value
// variable its value, and $service (Include All) its regex-escaped value
// or the custom all value. Any other $name fails the test.
func interpolate(t *testing.T, q string, v grafanaVars) string {
	t.Helper()
	q = strings.ReplaceAll(q, "$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", v.from.UnixMilli(), v.to.UnixMilli()))
	q = strings.ReplaceAll(q, "$__interval", influxDuration(v.interval))
	service := ".*"
	if v.service != "" {
		service = regexp.QuoteMeta(v.service)
	}
	vals := map[string]string{"kab": v.kab, "region": v.region, "service": service, "rollup": influxDuration(v.rollup)}
	return grafanaVar.ReplaceAllStringFunc(q, func(m string) string {
		val, ok := vals[m[1:]]
		if !ok {
			t.Errorf("no value for %s in %s", m, q)
		}
		return val
	})
}

// influxDuration writes d as an InfluxQL duration literal (1m, 5m, 1h).
func influxDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// influxTarget is one InfluxQL target of a committed dashboard.
type influxTarget struct {
	panel, query, format string
}

func influxTargets(t *testing.T, file string) []influxTarget {
	t.Helper()
	data, err := os.ReadFile("grafana/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var db struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Datasource   struct{ Type string } `json:"datasource"`
				Query        string                `json:"query"`
				ResultFormat string                `json:"resultFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &db); err != nil {
		t.Fatal(err)
	}
	var out []influxTarget
	for _, p := range db.Panels {
		for _, q := range p.Targets {
			if q.Datasource.Type == "influxdb" {
				out = append(out, influxTarget{p.Title, q.Query, q.ResultFormat})
			}
		}
	}
	return out
}

// point is one value of a panel's answer: a series (the tag it is grouped
// by) at a time.
type point struct {
	series string
	ms     int64
}

// answer reads the named column of every series, grouped by tag; nulls
// are left out.
func answer(t *testing.T, series []influxSeries, tag, column string) map[point]float64 {
	t.Helper()
	out := map[point]float64{}
	for _, s := range series {
		col := slices.Index(s.Columns, column)
		if col < 0 {
			t.Fatalf("no column %q in %v", column, s.Columns)
		}
		for _, row := range s.Values {
			if row[col] == nil {
				continue
			}
			out[point{s.Tags[tag], int64(row[0].(float64))}] = row[col].(float64)
		}
	}
	return out
}

func compare(t *testing.T, what string, got, want map[point]float64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the fixture gives nothing to compare", what)
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s at %s: got %v (present %v), want %v", what, k.series, time.UnixMilli(k.ms).UTC().Format(time.TimeOnly), g, ok, w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s at %s: got %v, want nothing", what, k.series, time.UnixMilli(k.ms).UTC().Format(time.TimeOnly), g)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(want))
	}
}

// TestInfluxQLPanelsOnInfluxDB runs every InfluxQL query of the committed
// region dashboard against a real InfluxDB holding results that two
// collectors wrote through the real influx store, with Grafana's macros
// and variables filled in, and compares each answer with what the
// results written say.
func TestInfluxQLPanelsOnInfluxDB(t *testing.T) {
	s := newInfluxServer(t)
	rs := writeFixture(t, s)

	// The data is there, once, and the dedupe matters: some rows have a
	// point from each collector, with different counts.
	raw, err := s.query(s.db, `SELECT count("seq") FROM "jangkau_result"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1 || int(raw[0].Values[0][1].(float64)) != len(rs) {
		t.Fatalf("raw points %v, want %d", raw, len(rs))
	}
	for _, meas := range InfluxRollupMeasurements {
		pts, err := s.query(s.db, `SELECT "count" FROM "`+meas+`" GROUP BY "collector", "probe", "region", "carrier", "service", "kind"`)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string][]float64{}
		for _, sr := range pts {
			delete(sr.Tags, "collector")
			for _, v := range sr.Values {
				k := fmt.Sprint(sr.Tags, v[0])
				counts[k] = append(counts[k], v[1].(float64))
			}
		}
		differ := 0
		for _, c := range counts {
			if len(c) == 2 && c[0] != c[1] {
				differ++
			}
		}
		if differ == 0 {
			t.Fatalf("%s: no row with two collectors' points of different counts (%d rows): the fixture does not exercise the dedupe", meas, len(counts))
		}
		t.Logf("%s: %d rows, %d with two collectors' points of different counts", meas, len(counts), differ)
	}

	targets := influxTargets(t, "region-detail.json")
	if len(targets) == 0 {
		t.Fatal("no InfluxQL targets in region-detail.json")
	}
	// Ranges as Grafana gives them: the whole fixture, and ones starting
	// and ending inside a bucket.
	whole, inside := [2]time.Duration{0, 2 * time.Hour}, [2]time.Duration{7*time.Minute + 30*time.Second, 97*time.Minute + 10*time.Second}
	cases := []struct {
		v   grafanaVars
		rng [2]time.Duration
	}{
		{grafanaVars{interval: 5 * time.Minute, rollup: time.Minute}, whole},
		{grafanaVars{interval: time.Minute, rollup: time.Minute, service: "perizinan"}, whole},
		{grafanaVars{interval: 10 * time.Minute, rollup: time.Minute}, inside},
		{grafanaVars{interval: time.Hour, rollup: time.Hour}, whole},
		{grafanaVars{interval: 30 * time.Minute, rollup: time.Hour, service: "kependudukan"}, whole},
		{grafanaVars{interval: time.Hour, rollup: time.Hour}, inside},
	}
	for _, c := range cases {
		v := c.v
		v.from, v.to, v.kab, v.region = dashT0.Add(c.rng[0]), dashT0.Add(c.rng[1]), "36.01", "36.01.01"
		for _, tg := range targets {
			name := fmt.Sprintf("%s/rollup=%s/interval=%s/service=%q/range=%s", tg.panel, v.rollup, v.interval, v.service, c.rng)
			t.Run(name, func(t *testing.T) {
				q := interpolate(t, tg.query, v)
				series, err := s.query(s.db, q)
				if err != nil {
					t.Fatal(err)
				}
				checkPanel(t, tg, series, rs, v)
			})
		}
	}
}

// checkPanel compares one panel's answer with what the results say.
func checkPanel(t *testing.T, tg influxTarget, series []influxSeries, rs []written, v grafanaVars) {
	t.Helper()
	// inRange: a rollup point is dated by its bucket's start, and
	// $timeFilter keeps the points dated within the range.
	inRange := func(w written) bool {
		b := w.r.Time.Truncate(v.rollup)
		return !b.Before(v.from) && !b.After(v.to)
	}
	inKab := func(w written) bool {
		return region.Ancestor(w.cell.Region, 2) == v.kab && (v.service == "" || w.cell.Service == v.service)
	}
	// bucket is the panel's time of a result: the rollup bucket holding
	// it, in the interval holding that.
	bucket := func(w written) int64 {
		return w.r.Time.Truncate(v.rollup).Truncate(v.interval).UnixMilli()
	}
	switch {
	case strings.HasPrefix(tg.panel, "Availability of "):
		n, ok := map[point]float64{}, map[point]float64{}
		for _, w := range rs {
			if inKab(w) && inRange(w) {
				k := point{w.cell.Kind, bucket(w)}
				n[k]++
				if w.r.OK {
					ok[k]++
				}
			}
		}
		want := map[point]float64{}
		for k, c := range n {
			want[k] = ok[k] / c
		}
		compare(t, "availability", answer(t, series, "kind", "availability"), want)

	case strings.HasPrefix(tg.panel, "Failed checks in "):
		want := map[point]float64{}
		for _, w := range rs {
			if inKab(w) && inRange(w) {
				k := point{w.cell.Service, bucket(w)}
				want[k] += 0 // a bucket with results and no failure shows 0
				if !w.r.OK {
					want[k]++
				}
			}
		}
		compare(t, "failed checks", answer(t, series, "service", "failed"), want)

	case strings.HasPrefix(tg.panel, "Latency of successful checks in "):
		// A row is one probe × region × carrier × e-service × kind over
		// one rollup bucket; its p50 and p95 are those of its latency
		// sketch (rollup.Agg, what the store writes).
		type row struct {
			cell   rollup.Cell
			bucket int64
		}
		rows := map[row]*rollup.Agg{}
		for _, w := range rs {
			if w.cell.Region != v.region || (v.service != "" && w.cell.Service != v.service) || !inRange(w) {
				continue
			}
			c := w.cell
			c.Tile = ""
			k := row{c, w.r.Time.Truncate(v.rollup).UnixMilli()}
			if rows[k] == nil {
				rows[k] = rollup.NewAgg()
			}
			rows[k].Add(&w.r)
		}
		p95, p50s := map[point]float64{}, map[point][]float64{}
		for k, a := range rows {
			if a.OK == 0 {
				continue
			}
			pt := point{k.cell.Kind, time.UnixMilli(k.bucket).Truncate(v.interval).UnixMilli()}
			p95[pt] = math.Max(p95[pt], a.Quantile(0.95))
			p50s[pt] = append(p50s[pt], a.Quantile(0.5))
		}
		p50 := map[point]float64{}
		for pt, xs := range p50s {
			p50[pt] = median(xs)
		}
		compare(t, "worst p95", answer(t, series, "kind", "worst p95"), p95)
		compare(t, "median p50", answer(t, series, "kind", "median p50"), p50)

	case strings.HasPrefix(tg.panel, "Latest failures in "):
		var want []string
		var failed []written
		for _, w := range rs {
			if inKab(w) && !w.r.OK && !w.r.Time.Before(v.from) && !w.r.Time.After(v.to) {
				failed = append(failed, w)
			}
		}
		sort.Slice(failed, func(i, j int) bool { return failed[i].r.Time.After(failed[j].r.Time) })
		for _, w := range failed[:min(100, len(failed))] {
			want = append(want, fmt.Sprint(w.r.Time.UnixMilli(), w.probe, w.r.Check, w.cell.Region, w.r.ErrorClass))
		}
		if len(want) == 0 {
			t.Fatal("the fixture has no failure to list")
		}
		var got []string
		for _, s := range series {
			col := func(name string) int {
				i := slices.Index(s.Columns, name)
				if i < 0 {
					t.Fatalf("no column %q in %v", name, s.Columns)
				}
				return i
			}
			for _, r := range s.Values {
				got = append(got, fmt.Sprint(int64(r[0].(float64)), r[col("probe")], r[col("check")], r[col("region")], r[col("error_class")]))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("failures table: %d rows, want %d; first got %q, first want %q", len(got), len(want), cmp.Or(first(got), ""), want[0])
		}

	default:
		t.Errorf("no expectation for the InfluxQL panel %q: add one to checkPanel", tg.panel)
	}
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

// median is InfluxQL's: the middle value, or the mean of the two middle
// values of an even count.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
