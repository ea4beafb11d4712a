package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/gpsfake"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

// surveyDrive crosses from kecamatan 99.01.01 into 99.01.02 of the fixture.
const surveyDrive = "../probe/testdata/survey-drive.nmea"

// TestSurveyProbeBinsByItsRoute drives a probe in survey mode through two
// kecamatan: the real gpsd (gpsfake) replays the drive, the probe checks
// an e-service every 100 ms and uploads to a real collector. Each result
// must land in the kecamatan and the tile where it was measured, not where
// the probe is registered (99.02.01, which the drive never enters), and
// every tile of the route must be measured.
func TestSurveyProbeBinsByItsRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end with gpsd; -short skips it")
	}
	route, err := gpsfake.ReadRMC(surveyDrive)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // the quadkeys of the route
	for _, fix := range route {
		want[tile.Quadkey(tile.At(fix.Lat, fix.Lon, tile.DefaultZoom))] = true
	}
	fake := gpsfake.Start(t, surveyDrive, 0, 250*time.Millisecond)
	f := newSurveyFixture(t)

	eservice := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer eservice.Close()
	cfg := &probe.Config{
		ID: "survey", Collector: f.http.URL, Token: "tok-survey", GPSD: fake.Addr,
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: probe.DefaultConfig.Spool.MaxBytes},
		Upload:      probe.UploadConfig{Interval: 200 * time.Millisecond, BatchSize: 1000, Timeout: 5 * time.Second},
		Concurrency: 4,
		Checks: []checkspec.CheckConfig{{Name: "portal", Kind: wire.KindHTTP, Target: eservice.URL + "/",
			Interval: 100 * time.Millisecond, Timeout: 90 * time.Millisecond, Service: "perizinan"}},
	}
	p, err := probe.New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("probe: %v", err)
		}
	}()

	// One pass of the drive takes 6 s; every tile of the route gets results.
	var samples map[string]float64
	var tiles []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		samples, tiles = f.surveyed()
		covered := 0
		for _, q := range tiles {
			if want[q] {
				covered++
			}
		}
		if samples["99.01.01"] >= 3 && samples["99.01.02"] >= 3 && covered == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: samples per kecamatan %v, tiles %v, want %d route tiles; gpsfake:\n%s",
				samples, tiles, len(want), fake.Output())
		}
	}
	for _, q := range tiles {
		if !want[q] {
			t.Errorf("tile %s has results but is off the route %v", q, want)
		}
	}
	// Results checked before the first fix have no location: the
	// collector places them where the probe is registered, without a tile.
	t.Logf("samples per kecamatan %v (99.02.01: before the first fix); %d route tiles", samples, len(want))
}

// newSurveyFixture is the collector of newFixture on the real clock, with
// one survey probe registered at 99.02.01.
func newSurveyFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := DefaultConfig
	cfg.Probes = []ProbeConfig{{ID: "survey", TokenSHA256: hash("tok-survey"), Region: "99.02.01"}}
	cfg.Viewers = []ViewerConfig{{Name: "planner", KeySHA256: hash("view-key")}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := NewServer(&cfg, st, fixtureRegions(t), slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, http: httptest.NewServer(srv.Handler())}
	t.Cleanup(f.http.Close)
	return f
}

// surveyed reads the samples per kecamatan and the measured tiles.
func (f *fixture) surveyed() (map[string]float64, []string) {
	var fc struct {
		Features []struct {
			ID         any
			Properties map[string]any
		}
	}
	samples := map[string]float64{}
	if code := f.get("/api/v1/coverage?level=3", "view-key", &fc); code != 200 {
		f.t.Fatalf("coverage: %d", code)
	}
	for _, ft := range fc.Features {
		n, _ := ft.Properties["samples"].(float64)
		samples[fmt.Sprint(ft.Properties["code"])] = n
	}
	fc.Features = nil
	if code := f.get(fmt.Sprintf("/api/v1/coverage/tiles?z=%d", tile.DefaultZoom), "view-key", &fc); code != 200 {
		f.t.Fatalf("tiles: %d", code)
	}
	var tiles []string
	for _, ft := range fc.Features {
		if n, _ := ft.Properties["samples"].(float64); n > 0 {
			tiles = append(tiles, fmt.Sprint(ft.ID))
		}
	}
	slices.Sort(tiles)
	return samples, tiles
}
