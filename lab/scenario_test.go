package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScenarioFiles(t *testing.T) {
	for _, f := range []string{"ci.yaml", "soak.yaml"} {
		t.Run(f, func(t *testing.T) {
			if _, err := LoadScenario(filepath.Join("scenarios", f)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseScenarioErrors(t *testing.T) {
	base := `
duration: 1m
services: [{name: web, port: 80}]
probe: {checks: [{name: web, kind: http, service: web, interval: 5s, timeout: 4s}]}
districts: [{name: a, region: "36.01.01"}]
`
	tests := []struct {
		name, extra, wantErr string
	}{
		{"good", ``, ""},
		{"unknown key", `colour: red`, "field colour not found"},
		{"event before its mark", `events: [{at: cut+1m, district: a, link: {cut: false}}]`, `no earlier event has mark "cut"`},
		{"loss out of range", `events: [{at: 1s, district: a, link: {loss: 140}}]`, "loss (140)"},
		{"unknown district", `assertions: [{status: {districts: [b], from: 0s, to: end, want: [good]}}]`, `district "b"`},
		{"two kinds", `assertions: [{stored_once: {}, silent: {district: a, after: end}}]`, "exactly one"},
		{"bad status", `assertions: [{status: {from: 0s, to: end, want: [green]}}]`, `"green" is not a status`},
		{"service state", `events: [{at: 1s, service: web, state: off}]`, `state "off"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(base + tc.extra))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestMarks(t *testing.T) {
	m := marks{"cut": 70 * time.Second}
	for expr, want := range map[string]time.Duration{"10s": 10 * time.Second, "cut": 70 * time.Second,
		"cut+2m": 190 * time.Second, "cut-10s": 60 * time.Second} {
		if got, ok := m.at(expr); !ok || got != want {
			t.Errorf("at(%q) = %s, %v; want %s", expr, got, ok, want)
		}
	}
	if _, ok := m.at("restore"); ok {
		t.Error("an unset mark resolved")
	}
}

func TestPopulationCSV(t *testing.T) {
	pop, err := readPopulation(filepath.Join("scenarios", "banten-population.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for code, n := range pop {
		if code != "36" {
			sum += n
		}
	}
	if len(pop) != 9 || sum != pop["36"] {
		t.Fatalf("%d rows; kabupaten sum %d, province %d", len(pop), sum, pop["36"])
	}
	if _, err := os.Stat(filepath.Join("scenarios", "ci.yaml")); err != nil {
		t.Fatal(err)
	}
}
