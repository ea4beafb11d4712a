package dashboards

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	influxFrom  = regexp.MustCompile(`FROM "([^"]+)"`)
	influxAlias = regexp.MustCompile(`AS "([^"]+)"`)
	influxTagRe = regexp.MustCompile(`\$tag_(\w+)`)
)

// checkInfluxQL wants the results measurement and only its tags and
// fields (or aliases) among the query's double-quoted identifiers.
func checkInfluxQL(q string) error {
	m := influxFrom.FindStringSubmatch(q)
	if m == nil || m[1] != InfluxMeasurement {
		return fmt.Errorf("measurement %v, want %q", m, InfluxMeasurement)
	}
	allowed := map[string]bool{InfluxMeasurement: true}
	for _, s := range append(slices.Clone(InfluxTags), InfluxFields...) {
		allowed[s] = true
	}
	for _, a := range influxAlias.FindAllStringSubmatch(q, -1) {
		allowed[a[1]] = true
	}
	for _, id := range quoted.FindAllString(q, -1) {
		if id = strings.Trim(id, `"`); !allowed[id] {
			return fmt.Errorf("%q is no tag or field of %s", id, InfluxMeasurement)
		}
	}
	for _, tag := range influxTagRe.FindAllStringSubmatch(q, -1) {
		if !slices.Contains(InfluxTags, tag[1]) {
			return fmt.Errorf("$tag_%s: no such tag", tag[1])
		}
	}
	return nil
}

func TestCheckInfluxQL(t *testing.T) {
	if err := checkInfluxQL(`SELECT mean("latency") FROM "jangkau_result"`); err == nil {
		t.Error(`an unknown field "latency" passed`)
	}
	if err := checkInfluxQL(`SELECT count("ok") AS "n" FROM "results"`); err == nil {
		t.Error(`an unknown measurement passed`)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
