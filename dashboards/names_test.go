package dashboards

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/wire"
)

// collectorNames scrapes a real collector that has stored a batch, so that
// every per-probe, per-region and per-service family is present.
func collectorNames(t *testing.T) map[string]bool {
	t.Helper()
	sq := orb.Polygon{{{100, 0}, {101, 0}, {101, 1}, {100, 1}, {100, 0}}}
	regions, err := region.New([]*region.Region{{Code: "99.01.01", Name: "Barat", Level: 3, Geometry: sq, Bound: sq.Bound()}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := collector.DefaultConfig
	cfg.PublicRead = true
	cfg.Probes = []collector.ProbeConfig{{ID: "p1", TokenSHA256: sha("tok"), Region: "99.01.01",
		Location: &collector.Location{Lat: 0.5, Lon: 100.5}}}
	srv, err := collector.NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), collector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	now := time.Now()
	var rs []wire.Result
	for i := range 5 {
		rs = append(rs, wire.Result{Seq: uint64(i + 1), Time: now.Add(-time.Duration(i) * time.Second), Check: "portal",
			Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", Service: "perizinan", OK: true, DurationMS: 20})
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	json.NewEncoder(zw).Encode(wire.Batch{Probe: "p1", SentAt: now, Results: rs})
	zw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest", &body)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllStringSubmatch(string(text), -1) {
		addFamily(names, m[1], m[2])
	}
	return names
}

func addFamily(names map[string]bool, name, typ string) {
	names[name] = true
	switch typ {
	case "histogram":
		names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
	case "summary":
		names[name+"_sum"], names[name+"_count"] = true, true
	}
}

// recorder keeps what a probe registers, so that vectors without children
// yet still show their names.
type recorder struct {
	prometheus.Registerer
	cs []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	r.cs = append(r.cs, c)
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func probeNames(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	cfg, err := probe.ParseConfig([]byte(`id: p1
collector: http://127.0.0.1:9
token: tok
checks:
  - {name: portal, kind: http, target: "http://127.0.0.1:9/", interval: 10s, timeout: 5s}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Registerer: prometheus.NewRegistry()}
	p, err := probe.New(cfg, slog.New(slog.DiscardHandler), rec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	names := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for _, c := range rec.cs {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := fq.FindStringSubmatch(d.String()); m != nil {
				names[m[1]] = true
			}
		}
	}
	return names
}

// ruleFile returns the recording rules of rules.yml, and the PromQL of
// every rule.
func ruleFile(t *testing.T) (records map[string]bool, exprs []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct{ Record, Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	records = map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				records[r.Record] = true
			}
			exprs = append(exprs, r.Expr)
		}
	}
	return records, exprs
}

// dashboardQueries walks a dashboard's JSON for PromQL (expr, and the
// definition of Prometheus variables) and InfluxQL (query of influxdb
// targets).
func dashboardQueries(t *testing.T, file string) (promql, influxql []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", file))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			ds, _ := x["datasource"].(map[string]any)
			if e, ok := x["expr"].(string); ok {
				promql = append(promql, e)
			}
			if q, ok := x["query"].(string); ok && ds != nil && ds["type"] == "influxdb" {
				influxql = append(influxql, q)
			}
			if d, ok := x["definition"].(string); ok && ds != nil && ds["type"] == "prometheus" {
				promql = append(promql, d)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return promql, influxql
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	identifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// metricNames picks out of PromQL the identifiers that name jangkau's or
// the probes' metrics (jangkau_*, jangkau:*, probe_*), after dropping
// quoted label values. promql/parser is not a dependency of ours; the
// prefixes keep functions and label names out.
func metricNames(expr string) []string {
	var out []string
	for _, id := range identifier.FindAllString(quoted.ReplaceAllString(expr, `""`), -1) {
		if strings.HasPrefix(id, "jangkau_") || strings.HasPrefix(id, "jangkau:") || strings.HasPrefix(id, "probe_") {
			out = append(out, id)
		}
	}
	return out
}

func TestMetricNames(t *testing.T) {
	if got := metricNames(`sum by (probe) (rate(jangkau_probe_x_total{code="jangkau_not_a_name"}[5m])) / jangkau:y`); !slices.Equal(got, []string{"jangkau_probe_x_total", "jangkau:y"}) {
		t.Fatalf("metricNames: %v", got)
	}
}

// TestQueriedMetricsExist checks that every metric a dashboard or rule
// queries is one the collector, a probe or a recording rule really
// provides, and every InfluxDB measurement, tag and field one the store
// writes.
func TestQueriedMetricsExist(t *testing.T) {
	known := collectorNames(t)
	for n := range probeNames(t) {
		known[n] = true
	}
	records, exprs := ruleFile(t)
	for n := range records {
		known[n] = true
	}
	for _, want := range []string{"jangkau_region_status", "jangkau_probe_last_seen_timestamp_seconds", "jangkau_service_outage",
		"jangkau_probe_spool_results", "jangkau_probe_check_failures_total", "probe_success"} {
		if !known[want] {
			t.Fatalf("%s is not among the names collected (%d): the fixtures do not exercise it", want, len(known))
		}
	}
	check := func(where string, exprs []string) {
		for _, e := range exprs {
			for _, n := range metricNames(e) {
				if !known[n] {
					t.Errorf("%s queries %s, which jangkau does not export: %s", where, n, e)
				}
			}
		}
	}
	check("prometheus/rules.yml", exprs)
	for _, d := range All() {
		promql, influxql := dashboardQueries(t, d.File)
		if len(promql)+len(influxql) == 0 {
			t.Errorf("%s: no queries found", d.File)
		}
		check(d.File, promql)
		for _, q := range influxql {
			if err := checkInfluxQL(q); err != nil {
				t.Errorf("%s: %v: %s", d.File, err, q)
			}
		}
	}
}

var (
	influxFrom  = regexp.MustCompile(`FROM\s+(?:"([^"]+)"|\()`)
	influxAlias = regexp.MustCompile(`AS "([^"]+)"`)
	influxTagRe = regexp.MustCompile(`\$tag_(\w+)`)
)

// rollupChoices are the values of the region dashboard's $rollup variable,
// which names the rollup measurement (jangkau_rollup_$rollup).
var rollupChoices = []string{"1m", "1h"}

// checkInfluxQL checks a query for every value of $rollup: see
// checkInfluxQLOnce.
func checkInfluxQL(q string) error {
	if !strings.Contains(q, "$rollup") {
		return checkInfluxQLOnce(q)
	}
	for _, r := range rollupChoices {
		if err := checkInfluxQLOnce(strings.ReplaceAll(q, "$rollup", r)); err != nil {
			return fmt.Errorf("with $rollup=%s: %w", r, err)
		}
	}
	return nil
}

// checkInfluxQLOnce wants every FROM to name the results measurement or
// a rollup measurement (or be a subquery), and among the query's
// double-quoted identifiers only the tags and fields of the measurements
// it reads, or aliases.
func checkInfluxQLOnce(q string) error {
	schema := map[string][2][]string{InfluxMeasurement: {InfluxTags, InfluxFields}}
	for _, m := range InfluxRollupMeasurements {
		schema[m] = [2][]string{InfluxRollupTags, InfluxRollupFields}
	}
	froms := influxFrom.FindAllStringSubmatch(q, -1)
	if froms == nil {
		return errors.New("no FROM")
	}
	allowed, tags := map[string]bool{}, map[string]bool{}
	read := 0
	for _, m := range froms {
		if m[1] == "" {
			continue // a subquery: its own FROM follows
		}
		s, ok := schema[m[1]]
		if !ok {
			return fmt.Errorf("measurement %q is none jangkau writes (%s or the rollups %v)", m[1], InfluxMeasurement, InfluxRollupMeasurements)
		}
		read++
		allowed[m[1]] = true
		for _, t := range s[0] {
			allowed[t], tags[t] = true, true
		}
		for _, f := range s[1] {
			allowed[f] = true
		}
	}
	if read == 0 {
		return errors.New("no measurement read")
	}
	for _, a := range influxAlias.FindAllStringSubmatch(q, -1) {
		allowed[a[1]] = true
	}
	for _, id := range quoted.FindAllString(q, -1) {
		if id = strings.Trim(id, `"`); !allowed[id] {
			return fmt.Errorf("%q is no tag or field of the measurements read", id)
		}
	}
	for _, tag := range influxTagRe.FindAllStringSubmatch(q, -1) {
		if !tags[tag[1]] {
			return fmt.Errorf("$tag_%s: no such tag", tag[1])
		}
	}
	return nil
}

func TestCheckInfluxQL(t *testing.T) {
	for _, q := range []string{
		`SELECT mean("latency") FROM "jangkau_result"`,
		`SELECT count("ok") AS "n" FROM "results"`,
		`SELECT sum("ok") FROM (SELECT max("count") AS "count", "ok" FROM "jangkau_rollup_1d" GROUP BY "probe")`,
		`SELECT sum("ok") FROM (SELECT max("count") AS "count", "ok" FROM "jangkau_rollup_1m" GROUP BY "check")`,
		`SELECT max("duration_ms") FROM "jangkau_rollup_1m"`,
		`SELECT sum("count") FROM "jangkau_rollup_$rollup" GROUP BY "error_class"`,
		`SELECT sum("count") FROM "jangkau_rollup_1m" GROUP BY time(1m) ALIAS $tag_check`,
	} {
		if err := checkInfluxQL(q); err == nil {
			t.Errorf("passed: %s", q)
		}
	}
	good := `SELECT sum("ok") / sum("count") AS "a" FROM (SELECT max("count") AS "count", "ok" FROM "jangkau_rollup_$rollup" WHERE "kab" = '$kab' GROUP BY time($rollup), "probe", "collector") GROUP BY "kind"`
	if err := checkInfluxQL(good); err != nil {
		t.Errorf("%v: %s", err, good)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
