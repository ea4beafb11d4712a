//go:build !probeonly

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/internal/gpsfake"
)

// surveyPassGap is the evidence rule's gap between two passes of one
// probe through a desa (docs/evidence-rule.md), read by the test on its own.
const surveyPassGap = 30 * time.Minute

// lebakDesa reads the boundary file on its own and returns the largest
// desa of Kabupaten Lebak (36.02) whose source centroid lies inside it,
// and another Lebak desa for the probes' home base.
func lebakDesa(t *testing.T, path string) (drive *geojson.Feature, home string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	best := 0.0
	for _, f := range fc.Features {
		code := f.Properties.MustString("kode")
		if !strings.HasPrefix(code, "36.02.") {
			continue
		}
		p := orb.Point{f.Properties.MustFloat64("src_centroid_lng"), f.Properties.MustFloat64("src_centroid_lat")}
		if a := f.Properties.MustFloat64("area_km2"); a > best && contains(f.Geometry, p) {
			if drive != nil {
				home = drive.Properties.MustString("kode")
			}
			drive, best = f, a
		} else if home == "" {
			home = code
		}
	}
	if drive == nil || home == "" {
		t.Fatal("no usable desa in Lebak (36.02)")
	}
	return drive, home
}

func contains(g orb.Geometry, p orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// writeDrive writes an NMEA log of a small loop around centre, one fix
// (RMC and GGA) a minute, every fix inside the desa.
func writeDrive(t *testing.T, path string, desa orb.Geometry, centre orb.Point) {
	t.Helper()
	nmea := func(body string) string {
		var x byte
		for i := 0; i < len(body); i++ {
			x ^= body[i]
		}
		return fmt.Sprintf("$%s*%02X\n", body, x)
	}
	dm := func(v float64, pos, neg string, width int) (string, string) {
		hemi := pos
		if v < 0 {
			hemi, v = neg, -v
		}
		d := math.Floor(v)
		return fmt.Sprintf("%0*d%07.4f", width, int(d), (v-d)*60), hemi
	}
	var b strings.Builder
	b.WriteString("# a loop inside one Lebak desa, written by TestCarrierClaimDisputedBySurvey\n")
	for i := range 12 {
		a := 2 * math.Pi * float64(i) / 12
		p := orb.Point{centre[0] + 0.0008*math.Cos(a), centre[1] + 0.0008*math.Sin(a)}
		if !contains(desa, p) {
			p = centre
		}
		lat, ns := dm(p[1], "N", "S", 2)
		lon, ew := dm(p[0], "E", "W", 3)
		hhmm := fmt.Sprintf("03%02d00.00", i)
		b.WriteString(nmea(fmt.Sprintf("GPRMC,%s,A,%s,%s,%s,%s,20.0,90.0,271126,,,A", hhmm, lat, ns, lon, ew)))
		b.WriteString(nmea(fmt.Sprintf("GPGGA,%s,%s,%s,%s,%s,1,08,0.9,25.0,M,5.0,M,,", hhmm, lat, ns, lon, ew)))
	}
	write(t, path, b.String())
}

// exportedResult is a row of the partner's raw results export.
type exportedResult struct {
	Probe    string    `json:"probe"`
	Time     time.Time `json:"time"`
	OK       bool      `json:"ok"`
	Lat, Lon *float64
}

// surveyPasses counts the passes through desa in the stored results, as
// the rule defines them: per probe, results there no more than
// surveyPassGap apart. It also returns how many results were located there.
func surveyPasses(t *testing.T, base, key string, desa orb.Geometry) (passes, located, ok int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/export/results?limit=1000000", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export results: %d %s", resp.StatusCode, b)
	}
	times := map[string][]time.Time{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r exportedResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export row %q: %v", sc.Text(), err)
		}
		if r.Lat == nil || r.Lon == nil || !contains(desa, orb.Point{*r.Lon, *r.Lat}) {
			continue
		}
		times[r.Probe] = append(times[r.Probe], r.Time)
		located++
		if r.OK {
			ok++
		}
	}
	for _, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		passes++
		for i := 1; i < len(ts); i++ {
			if ts[i].Sub(ts[i-1]) > surveyPassGap {
				passes++
			}
		}
	}
	return passes, located, ok
}

// TestCarrierClaimDisputedBySurvey runs the real binary: a collector on
// Banten's desa, two survey probes of Telkomsel (the real `jangkau probe`
// with gpsd replaying a drive through a Lebak desa) whose checks fail on
// a dead loopback port, and the carrier's partner posting a 4G claim over
// that desa. The evidence view lists the desa as disputed by as many
// survey passes as the stored results hold, and the map page says so.
func TestCarrierClaimDisputedBySurvey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary with gpsd; skipped with -short")
	}
	regions := geotest.File(t, "banten-adm4.geojson")
	drive, home := lebakDesa(t, regions)
	code := drive.Properties.MustString("kode")
	centre := orb.Point{drive.Properties.MustFloat64("src_centroid_lng"), drive.Properties.MustFloat64("src_centroid_lat")}
	dir := t.TempDir()
	nmeaPath := filepath.Join(dir, "drive.nmea")
	writeDrive(t, nmeaPath, drive.Geometry, centre)
	fake := gpsfake.Start(t, nmeaPath, 0, 250*time.Millisecond)
	bin := buildBinary(t)

	deadAddr := freeAddr(t) // nothing listens there: every check fails
	collectorAddr := freeAddr(t)
	base := "http://" + collectorAddr
	probes := []string{"survey-a", "survey-b"}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:1
data_dir: ./data
public_read: true
regions: {file: %q}
partners:
  - {name: tsel, key_sha256: %q, carriers: [Telkomsel], raw: true, submit: true}
probes:
`, regions, sum("tsel-key"))
	for _, id := range probes {
		cfg += fmt.Sprintf("  - {id: %s, token_sha256: %q, region: %q, carrier: Telkomsel}\n", id, sum("tok-"+id), home)
		write(t, filepath.Join(dir, id+".yaml"), fmt.Sprintf(`id: %s
collector: %s
token: tok-%s
gpsd: %s
upload: {interval: 1s}
checks:
  - {name: gateway, kind: tcp, target: %q, interval: 1s, timeout: 500ms}
`, id, base, id, fake.Addr, deadAddr))
	}
	write(t, filepath.Join(dir, "collector.yaml"), cfg)
	start(t, bin, "collector", "--config", filepath.Join(dir, "collector.yaml"), "--listen", collectorAddr)
	for _, id := range probes {
		start(t, bin, "probe", "--config", filepath.Join(dir, id+".yaml"))
	}

	// The carrier claims 4G over the desa.
	g, _ := json.Marshal(geojson.NewGeometry(drive.Geometry))
	body := `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + string(g) +
		`,"properties":{"technology":"4G","as_of":"2026-10-01"}}]}`
	var claimed bool
	for deadline := time.Now().Add(30 * time.Second); !claimed; time.Sleep(300 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/claims/tsel-lebak?carrier=Telkomsel", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/geo+json")
		req.Header.Set("Authorization", "Bearer tsel-key")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("claim: %d %s", resp.StatusCode, raw)
			}
			claimed = true
		} else if time.Now().After(deadline) {
			t.Fatalf("the collector did not answer the claim within 30 s: %v", err)
		}
	}

	// Wait until both probes' located results in the desa are stored.
	var passes, located, ok int
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		passes, located, ok = surveyPasses(t, base, "tsel-key", drive.Geometry)
		if passes >= len(probes) && located >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: %d passes, %d results located in %s; gpsfake:\n%s", passes, located, code, fake.Output())
		}
	}
	if ok != 0 {
		t.Fatalf("%d of %d results in %s succeeded, want every check to fail", ok, located, code)
	}
	want := fmt.Sprintf("Telkomsel claims 4G: disputed by %d survey passes", passes)

	var ev struct {
		Regions []struct {
			Code        string
			Disputed    bool
			Verdict     string
			DisputeText string `json:"dispute_text"`
		}
	}
	resp, err := http.Get(base + "/api/v1/evidence?level=4&filter=disputed")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("evidence: %d %v", resp.StatusCode, err)
	}
	if len(ev.Regions) != 1 || ev.Regions[0].Code != code || !ev.Regions[0].Disputed || ev.Regions[0].Verdict != "none" ||
		!strings.Contains(ev.Regions[0].DisputeText, want) {
		t.Fatalf("disputed desa %+v; want %s alone, verdict none, %q", ev.Regions, code, want)
	}

	// The map page says so, in English and in Bahasa.
	for lang, text := range map[string]string{"en": want,
		"id": fmt.Sprintf("Telkomsel mengklaim 4G: dibantah oleh %d lintasan survei", passes)} {
		resp, err := http.Get(base + "/?" + url.Values{"level": {"4"}, "evidence": {"disputed"}, "lang": {lang}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p := html.UnescapeString(string(page))
		i := strings.Index(p, `<ul id="disputes">`)
		if resp.StatusCode != http.StatusOK || i < 0 || !strings.Contains(p[i:], `data-code="`+code+`"`) || !strings.Contains(p[i:], text) {
			t.Errorf("map page (%s, %d) does not list %s as %q", lang, resp.StatusCode, code, text)
		}
	}
	t.Logf("desa %s: %d survey passes of %d results, all failed; %q", code, passes, located, want)
}
