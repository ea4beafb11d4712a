package collector

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/wire"
)

func (f *fixture) raw(path string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer view-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// feedViews stores 20 failures of east (placed by location) and 20
// successes of west with an e-service.
func feedViews(t *testing.T, f *fixture) {
	t.Helper()
	west := results(1, 20, f.now, true, 12)
	for i := range west {
		west[i].Service = "perizinan"
	}
	for _, post := range []struct {
		tok string
		b   wire.Batch
	}{{"tok-west", wire.Batch{Probe: "west", Results: west}}, {"tok-east", wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)}}} {
		if code, _, raw := f.post(post.tok, gz(t, post.b)); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
	}
}

func TestCoverageCSV(t *testing.T) {
	f := newFixture(t, nil)
	feedViews(t, f)
	code, body := f.raw("/api/v1/coverage?level=3&format=csv")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["code"]] == "99.01.02" && (r[col["status"]] != "blank" || r[col["samples"]] != "20" || r[col["people_affected"]] != "2000") {
			t.Errorf("blank kecamatan row: %v", r)
		}
	}
}

func TestTilesServicesAndVectorTiles(t *testing.T) {
	f := newFixture(t, nil)
	feedViews(t, f)
	east := tile.At(0.25, 100.75, 15)

	var tiles struct {
		Features []struct {
			ID         string
			Properties map[string]any
		}
	}
	if code := f.get("/api/v1/coverage/tiles?z=15", "view-key", &tiles); code != 200 || len(tiles.Features) != 1 {
		t.Fatalf("tiles: %d %+v", code, tiles)
	}
	// Only east has a location, so only its tile is measured.
	if tl := tiles.Features[0]; tl.ID != tile.Quadkey(east) || tl.Properties["status"] != "blank" || tl.Properties["samples"] != 20.0 {
		t.Errorf("tile %+v, want %s blank with 20 samples", tl, tile.Quadkey(east))
	}
	if code, body := f.raw("/api/v1/coverage/tiles?z=15&bbox=101,0,102,1"); code != 200 || strings.Contains(body, tile.Quadkey(east)) {
		t.Errorf("a bbox elsewhere still lists the tile: %d %s", code, body)
	}
	if code, body := f.raw("/api/v1/coverage/tiles?z=16"); code != 400 {
		t.Errorf("z finer than kept: %d %s", code, body)
	}

	var sv struct {
		Services []string
		Cells    []map[string]any
	}
	if code := f.get("/api/v1/services?level=3", "view-key", &sv); code != 200 {
		t.Fatalf("services: %d", code)
	}
	if strings.Join(sv.Services, ",") != "perizinan,uplink" || len(sv.Cells) != 2 {
		t.Errorf("services view: %+v", sv)
	}

	// A vector tile over the east kecamatan, decoded as a map client would.
	zt := maptile.At(east.Center(), 10)
	code, body := f.raw("/tiles/10/" + itoa(zt.X) + "/" + itoa(zt.Y) + ".mvt")
	if code != 200 {
		t.Fatalf("mvt: %d %s", code, body)
	}
	layers, err := mvt.Unmarshal([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for _, l := range layers {
		byName[l.Name] = len(l.Features)
		if l.Name == "regions" {
			found := false
			for _, ft := range l.Features {
				if ft.Properties["code"] == "99.01.02" && ft.Properties["status"] == "blank" {
					found = true
				}
			}
			if !found {
				t.Errorf("regions layer lacks 99.01.02 as blank")
			}
		}
	}
	if byName["regions"] == 0 || byName["tiles"] != 1 || byName["probes"] != 1 {
		t.Errorf("layers %v, want regions, one tile, one probe", byName)
	}
	if code, _ := f.raw("/tiles/10/5000/1.mvt"); code != 400 {
		t.Errorf("tile outside the grid: %d", code)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func TestMapPageSpeaksIndonesian(t *testing.T) {
	f := newFixture(t, nil)
	feedViews(t, f)
	code, body := f.raw("/?level=3")
	if code != 200 {
		t.Fatal(code)
	}
	for _, want := range []string{`lang="id"`, "<strong>Timur</strong> (99.01.02): blank spot, sejak ", "2.000 penduduk terdampak", "WIB", "perizinan"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// A store that fails answers the tiles view 503 with Retry-After, logged
// and counted as a store error, as every other view does; a zoom the
// collector does not keep is still the request's fault, 400.
func TestTilesStoreDown(t *testing.T) {
	log, logs := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), log, nil)
	for _, z := range []string{"0", "16"} {
		if code, body := f.raw("/api/v1/coverage/tiles?z=" + z); code != 400 || !strings.Contains(body, "z "+z) {
			t.Errorf("z=%s: %d %s, want 400 naming z", z, code, body)
		}
	}
	if err := f.srv.store.Close(); err != nil {
		t.Fatal(err)
	}
	before := value(t, f.srv.metrics.storeErrors)
	code, body := f.raw("/api/v1/coverage/tiles?z=15")
	if code != 503 || !strings.Contains(body, "store unavailable") {
		t.Errorf("tiles on a closed store: %d %s, want 503 store unavailable", code, body)
	}
	if got := value(t, f.srv.metrics.storeErrors) - before; got != 1 {
		t.Errorf("store errors counted: %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "store failed") || !strings.Contains(logs.String(), "op=tiles") {
		t.Errorf("store failure not logged with its op:\n%s", logs)
	}
}
