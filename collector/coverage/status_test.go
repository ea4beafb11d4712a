package coverage

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/strictyaml"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	recent := now.Add(-time.Minute)
	base := CellStats{Probes: 1, Samples: 100, Availability: 1, Loss: math.NaN(), LastSeen: recent, Live: true,
		LatencyP95: map[string]float64{"http": 200}}
	with := func(f func(*CellStats)) CellStats { s := base; f(&s); return s }
	tests := []struct {
		name string
		s    CellStats
		want Status
	}{
		{"healthy", base, StatusGood},
		{"no probe, no results", with(func(s *CellStats) { s.Probes, s.Samples, s.LastSeen = 0, 0, time.Time{} }), StatusUnmeasured},
		{"probe never reported", with(func(s *CellStats) { s.Samples, s.LastSeen = 0, time.Time{} }), StatusUnmeasured},
		{"too few samples", with(func(s *CellStats) { s.Samples = 2 }), StatusUnmeasured},
		{"quiet too long", with(func(s *CellStats) { s.LastSeen = now.Add(-6 * time.Minute) }), StatusSilent},
		{"quiet in a past window is judged by results", with(func(s *CellStats) { s.LastSeen, s.Live = now.Add(-6*time.Minute), false }), StatusGood},
		{"most checks fail", with(func(s *CellStats) { s.Availability = 0.49 }), StatusBlank},
		{"some checks fail", with(func(s *CellStats) { s.Availability = 0.9 }), StatusDegraded},
		{"slow http", with(func(s *CellStats) { s.LatencyP95 = map[string]float64{"http": 1500} }), StatusDegraded},
		{"icmp at 250 ms is fine", with(func(s *CellStats) { s.LatencyP95 = map[string]float64{"icmp": 250} }), StatusGood},
		{"icmp at 350 ms is slow", with(func(s *CellStats) { s.LatencyP95 = map[string]float64{"icmp": 350} }), StatusDegraded},
		{"5% loss", with(func(s *CellStats) { s.Loss = 0.05 }), StatusDegraded},
		{"40% loss", with(func(s *CellStats) { s.Loss = 0.4 }), StatusDegraded},
		{"60% loss", with(func(s *CellStats) { s.Loss = 0.6 }), StatusBlank},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultThresholds.Classify(tc.s, now); got != tc.want {
				t.Errorf("Classify = %s, want %s", got, tc.want)
			}
		})
	}
}

func decodeThresholds(t *testing.T, doc string) (Thresholds, error) {
	t.Helper()
	th := DefaultThresholds
	th.DegradedLatencyP95 = copyLatency(th.DegradedLatencyP95)
	if err := strictyaml.Decode([]byte(doc), &th); err != nil {
		return th, err
	}
	return th, th.Validate()
}

func TestThresholdsYAML(t *testing.T) {
	th, err := decodeThresholds(t, "degraded_latency_p95: 2s\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range checkKinds {
		if th.DegradedLatencyP95[k] != 2*time.Second {
			t.Errorf("a scalar sets every kind: %s = %s", k, th.DegradedLatencyP95[k])
		}
	}
	th, err = decodeThresholds(t, "degraded_latency_p95: {icmp: 600ms}\n")
	if err != nil {
		t.Fatal(err)
	}
	if th.DegradedLatencyP95["icmp"] != 600*time.Millisecond || th.DegradedLatencyP95["http"] != time.Second {
		t.Errorf("a mapping overrides only its kinds: %v", th.DegradedLatencyP95)
	}
	if DefaultThresholds.DegradedLatencyP95["icmp"] != 300*time.Millisecond {
		t.Error("decoding changed the defaults")
	}
	for doc, want := range map[string]string{
		"degraded_latency_p95: {ftp: 1s}\n":  "degraded_latency_p95.ftp",
		"degraded_latency_p95: {http: 0s}\n": "degraded_latency_p95.http (0s) must be positive",
		"blank_loss: 0.01\n":                 "degraded_loss (0.05) and blank_loss (0.01)",
		"outage_min_regions: 1\n":            "outage_min_regions (1)",
	} {
		if _, err := decodeThresholds(t, doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", doc, err, want)
		}
	}
}
