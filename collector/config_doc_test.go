package collector

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/collector/coverage"
)

// TestDocExampleKeepsLatencyPerKind: the config example in
// docs/collector.md, which operators copy, must not raise the icmp, tcp
// and dns latency bounds to the web's: a 600 ms ping (VSAT) is degraded
// under it, as under the defaults, while a 600 ms web check stays good.
func TestDocExampleKeepsLatencyPerKind(t *testing.T) {
	b, err := os.ReadFile("../docs/collector.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(block, "degraded_latency_p95") {
		t.Fatal("docs/collector.md has no yaml example setting degraded_latency_p95")
	}
	doc := struct {
		Status coverage.Thresholds `yaml:"status"`
	}{Status: coverage.DefaultThresholds}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	now := time.Now()
	cell := func(kind string, p95 float64) coverage.CellStats {
		return coverage.CellStats{Probes: 1, Samples: 100, Availability: 1, LatencyP95: map[string]float64{kind: p95}, Loss: math.NaN(), LastSeen: now, Live: true}
	}
	for _, tc := range []struct {
		kind string
		p95  float64
		want coverage.Status
	}{
		{"icmp", 600, coverage.StatusDegraded},
		{"tcp", 600, coverage.StatusDegraded},
		{"dns", 600, coverage.StatusDegraded},
		{"http", 600, coverage.StatusGood},
		{"icmp", 100, coverage.StatusGood},
	} {
		if got := doc.Status.Classify(cell(tc.kind, tc.p95), now); got != tc.want {
			t.Errorf("%s p95 %g ms under the example: %s, want %s", tc.kind, tc.p95, got, tc.want)
		}
	}
}
