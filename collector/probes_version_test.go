package collector

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/wire"
)

// The province sees which districts run an old probe: /api/v1/probes lists
// the version each probe's last batch named.
func TestProbeVersionListed(t *testing.T) {
	f := newFixture(t, nil)
	versions := func() map[string]string {
		var got struct {
			Probes []struct{ ID, Version string } `json:"probes"`
		}
		if code := f.get("/api/v1/probes", "view-key", &got); code != 200 {
			t.Fatalf("GET /api/v1/probes: %d", code)
		}
		out := map[string]string{}
		for _, p := range got.Probes {
			out[p.ID] = p.Version
		}
		return out
	}
	if v := versions(); len(v) != 2 || v["west"] != "" {
		t.Fatalf("before any batch: %v, want both probes listed without a version", v)
	}
	send := func(version string, seq uint64) (int, string) {
		code, _, body := f.post("tok-west", gz(t, wire.Batch{Probe: "west", ProbeVersion: version, Results: results(seq, 1, f.now, true, 10)}))
		return code, body
	}
	if code, body := send("0.3.1", 1); code != 200 {
		t.Fatalf("batch with a version: %d %s", code, body)
	}
	if v := versions(); v["west"] != "0.3.1" || v["east"] != "" {
		t.Fatalf("after west's batch: %v, want west 0.3.1 and east none", v)
	}
	// An older probe sends no version: the last known one stays.
	if code, body := send("", 2); code != 200 {
		t.Fatalf("batch without a version: %d %s", code, body)
	}
	if v := versions(); v["west"] != "0.3.1" {
		t.Fatalf("after a batch without a version: %v", v)
	}
	for _, bad := range []string{strings.Repeat("9", wire.MaxVersionLen+1), "1.0\n<script>"} {
		code, body := send(bad, 3)
		if code != http.StatusBadRequest || !strings.Contains(body, "probe_version") {
			t.Errorf("version %q: %d %s, want 400 naming probe_version", bad, code, body)
		}
	}
	if v := versions(); v["west"] != "0.3.1" {
		t.Fatalf("a refused version replaced the listed one: %v", v)
	}
}

func TestBuildInfoMetric(t *testing.T) {
	f := newFixture(t, nil)
	req, _ := http.NewRequest("GET", f.http.URL+"/metrics", nil)
	req.SetBasicAuth("prometheus", "view-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "\njangkau_build_info{") {
		t.Fatalf("/metrics has no jangkau_build_info:\n%.2000s", body)
	}
}
