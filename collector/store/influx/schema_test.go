package influx

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/wire"
)

// TestSchemaNames encodes a result with every optional part set and reads
// the tag and field keys back from the line: the exported names are what
// the store really writes.
func TestSchemaNames(t *testing.T) {
	r := wire.Result{Seq: 7, Time: time.Unix(1700000000, 0), Check: "portal", Kind: "http", Target: "http://x/",
		Service: "perizinan", OK: false, DurationMS: 12.5, StatusCode: 503, ErrorClass: "status", Error: "503",
		Phases: map[string]float64{"connect": 1}, Location: &wire.Location{Lat: -6, Lon: 106}}
	cell := rollup.Cell{Region: "36.01.05", Tile: "132100", Carrier: "telkom", Service: "perizinan", Kind: "http", Probe: "p1"}
	line := strings.TrimSpace(string(appendResult(nil, "p1", &r, cell, time.Millisecond)))
	parts := strings.SplitN(line, " ", 3) // no spaces in this result's values
	if len(parts) != 3 {
		t.Fatalf("line %q", line)
	}
	head := strings.Split(parts[0], ",")
	if head[0] != ResultMeasurement {
		t.Errorf("measurement %q, want %q", head[0], ResultMeasurement)
	}
	var tags, fields []string
	for _, kv := range head[1:] {
		tags = append(tags, strings.SplitN(kv, "=", 2)[0])
	}
	for _, kv := range strings.Split(parts[1], ",") {
		if k := strings.SplitN(kv, "=", 2)[0]; !strings.HasPrefix(k, PhasePrefix) {
			fields = append(fields, k)
		} else if k != PhasePrefix+"connect" {
			t.Errorf("phase field %q", k)
		}
	}
	slices.Sort(tags)
	slices.Sort(fields)
	wantTags, wantFields := slices.Sorted(slices.Values(ResultTags)), slices.Sorted(slices.Values(ResultFields))
	if !slices.Equal(tags, wantTags) {
		t.Errorf("tags written %v, ResultTags %v", tags, wantTags)
	}
	if !slices.Equal(fields, wantFields) {
		t.Errorf("fields written %v, ResultFields %v", fields, wantFields)
	}
}
