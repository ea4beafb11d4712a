package collector

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/wire"
)

// A probe may introduce only limits.max_unknown_names_per_probe check
// names and as many e-service names beyond the catalogue's; the rest are
// stored as "other", counted, and logged once, and none of them reaches
// /metrics. The catalogue's names and another probe's names are not
// affected.
func TestIngestFoldsUnknownNames(t *testing.T) {
	const max, sent = 3, 12
	log, logs := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), log, func(c *Config) {
		c.Limits.MaxUnknownNamesPerProbe = max
		c.Services = []ServiceConfig{{CheckConfig: checkspec.CheckConfig{Name: "portal", Service: "e-ktp", Kind: wire.KindTCP,
			Target: "127.0.0.1:9", Interval: time.Minute, Timeout: time.Second}}}
	})
	// Two batches, so that the bound holds across requests.
	for b := range 2 {
		res := results(uint64(1+b*sent), sent, f.now.Add(-time.Duration(1-b)*10*time.Minute), true, 10)
		for i := range res {
			n := b*sent + i
			res[i].Check, res[i].Service = fmt.Sprintf("local-%d", n), fmt.Sprintf("svc-%d", n)
			if n%4 == 0 { // the catalogue's names are always kept
				res[i].Check, res[i].Service = "portal", "e-ktp"
			}
		}
		if code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: res})); code != 200 || ir.Stored != sent {
			t.Fatalf("batch %d: %d %s", b, code, raw)
		}
	}
	east := results(1, max, f.now, true, 10)
	for i := range east {
		east[i].Check = fmt.Sprintf("east-%d", i)
	}
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: east})); code != 200 {
		t.Fatalf("east: %d %s", code, raw)
	}

	checks, services := map[string]int{}, map[string]int{}
	total := 0
	err := f.srv.ScanResults(context.Background(), f.now.Add(-time.Hour), f.now.Add(time.Hour), func(r store.Record) error {
		total++
		if r.Probe == "west" {
			checks[r.Check]++
			services[r.Service]++
		} else if r.Check == OtherName {
			t.Errorf("east's result %d folded: east sent only %d unknown names", r.Seq, max)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2*sent+max {
		t.Fatalf("%d results stored, want %d", total, 2*sent+max)
	}
	unknown := 2*sent - 2*sent/4
	for what, got := range map[string]map[string]int{"check": checks, "service": services} {
		if got["portal"]+got["e-ktp"] != 2*sent/4 {
			t.Errorf("%s: catalogue names kept %d times, want %d: %v", what, got["portal"]+got["e-ktp"], 2*sent/4, got)
		}
		if len(got) != 1+max+1 || got[OtherName] != unknown-max {
			t.Errorf("%s: %d distinct names, %d other; want the catalogue's, %d kept and %d other: %v", what, len(got), got[OtherName], max, unknown-max, got)
		}
	}
	wantFolded := float64(2 * (unknown - max))
	if got := value(t, f.srv.metrics.namesFolded.WithLabelValues("west")); got != wantFolded {
		t.Errorf("jangkau_ingest_names_folded_total{probe=west} = %g, want %g", got, wantFolded)
	}
	var pv struct{ Probes []probeView }
	if code := f.get("/api/v1/probes", "view-key", &pv); code != 200 {
		t.Fatalf("probes: %d", code)
	}
	for _, p := range pv.Probes {
		if want := map[string]uint64{"west": uint64(wantFolded)}[p.ID]; p.NamesFolded != want {
			t.Errorf("probes view: %s names_folded %d, want %d", p.ID, p.NamesFolded, want)
		}
	}
	if n := strings.Count(logs.String(), "max_unknown_names_per_probe="); n != 1 {
		t.Errorf("fold logged %d times, want once:\n%s", n, logs)
	}
	_, _, metrics := f.fetch("/metrics", "view-key")
	if strings.Contains(string(metrics), fmt.Sprintf("svc-%d", 2*sent-1)) {
		t.Errorf("/metrics holds a folded service name")
	}
}

// limits.max_unknown_names_per_probe: 100 when unset (the documented
// default), set by the file, and refused below 0 with the key named.
func TestUnknownNamesLimitConfig(t *testing.T) {
	base, err := os.ReadFile("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		extra   string
		want    int
		wantErr string
	}{
		{"", 100, ""},
		{"limits: {max_unknown_names_per_probe: 5}\n", 5, ""},
		{"limits: {max_unknown_names_per_probe: 0}\n", 0, ""},
		{"limits: {max_unknown_names_per_probe: -1}\n", 0, "limits.max_unknown_names_per_probe (-1) must be 0 or more"},
	} {
		cfg, err := ParseConfig(append(append([]byte{}, base...), tc.extra...), "testdata")
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.extra, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.extra, err)
		case cfg.Limits.MaxUnknownNamesPerProbe != tc.want:
			t.Errorf("%q: max_unknown_names_per_probe = %d, want %d", tc.extra, cfg.Limits.MaxUnknownNamesPerProbe, tc.want)
		}
	}
}
