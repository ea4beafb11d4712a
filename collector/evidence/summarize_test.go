package evidence

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

var banten struct {
	once sync.Once
	rs   *region.Regions
	err  error
}

// loadBanten loads the real desa of Banten once for the package's tests
// (skipping, or failing in CI, when ../shared/geo is absent).
func loadBanten(t testing.TB) *region.Regions {
	t.Helper()
	path := geotest.File(t, "banten-adm4.geojson")
	banten.once.Do(func() { banten.rs, banten.err = region.LoadFile(path, region.LoadOptions{}) })
	if banten.err != nil {
		t.Fatal(banten.err)
	}
	return banten.rs
}

// inside is a point inside the desa: the first of its sample points that
// Locate places in it.
func inside(t testing.TB, s *Summarizer, code string) orb.Point {
	t.Helper()
	for _, pt := range s.samples()[code] {
		if r := s.regions.Locate(pt.Lat(), pt.Lon()); r != nil && r.Code == code {
			return pt
		}
	}
	t.Fatalf("no point of desa %s found inside it", code)
	return orb.Point{}
}

// ooklaTileIn is the quadkey of a zoom-16 tile whose centre lies in the
// desa.
func ooklaTileIn(t testing.TB, s *Summarizer, code string) string {
	t.Helper()
	for _, pt := range s.samples()[code] {
		c := tile.At(pt.Lat(), pt.Lon(), OoklaZoom).Bound().Center()
		if r := s.regions.Locate(c.Lat(), c.Lon()); r != nil && r.Code == code {
			return tile.Quadkey(tile.At(pt.Lat(), pt.Lon(), OoklaZoom))
		}
	}
	t.Fatalf("no zoom-16 tile centred in desa %s", code)
	return ""
}

// countingStore counts the observations read through a real FileStore.
type countingStore struct {
	Store
	reads atomic.Int64
}

func (c *countingStore) Observations(ctx context.Context, id string, version int, fn func(*Observation) error) error {
	c.reads.Add(1)
	return c.Store.Observations(ctx, id, version, fn)
}

func bySummaryRegion(ss []Summary) map[string]Summary {
	m := make(map[string]Summary, len(ss))
	for _, s := range ss {
		m[s.Region] = s
	}
	return m
}

// TestSummarizeBanten: on the real Banten desa, a Lebak desa that Podes
// says has no signal, that XL claims 4G for, and that a survey probe on XL
// drove through three times with every check failing is a blank spot on
// measured evidence, and XL's claim there is disputed by the 3 passes; a
// desa with a Podes row only rests on the report; a desa with Ookla tiles
// rests on them; the probes' status decides where it exists.
func TestSummarizeBanten(t *testing.T) {
	ctx := context.Background()
	rs := loadBanten(t)
	s := NewSummarizer(rs, tile.DefaultZoom)
	fs, err := OpenFile(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	st := &countingStore{Store: fs}

	const (
		blank    = "36.02.01.2002" // Lebak, Malingping, Cilangkahan
		reported = "36.01.01.2001" // Pandeglang, Sumur, Sumberjaya
		ookla    = "36.02.01.2003"
		probed   = "36.02.01.2004"
	)
	podes := Layer{ID: "podes-2024", Kind: KindPodes, Title: "Podes 2024", Source: "BPS", Date: tCensus}
	_, err = st.Put(ctx, podes, []Observation{
		{Line: 2, Region: blank, Signal: SignalNone},
		{Line: 3, Region: strings.ReplaceAll(reported, ".", ""), Signal: SignalWeak, Tech: "3G"}, // BPS's digits
		{Line: 4, Region: "99.99.99.9999", Signal: SignalStrong},                                 // not in Banten
	})
	if err != nil {
		t.Fatal(err)
	}
	b := rs.Get(blank).Bound.Pad(0.001)
	claim := Layer{ID: "claim-xl-2026", Kind: KindClaim, Source: "XL", Carrier: "XL", Date: tClaim}
	if _, err := st.Put(ctx, claim, []Observation{{Line: 0, Tech: "4G", Signal: SignalStrong,
		Area: orb.MultiPolygon{b.ToPolygon()}}}); err != nil {
		t.Fatal(err)
	}
	qk := ooklaTileIn(t, s, ookla)
	ook := Layer{ID: "ookla-mobile-2026q3", Kind: KindOokla, Title: "Ookla mobile 2026 Q3", Source: "Ookla", Date: tClaim}
	if _, err := st.Put(ctx, ook, []Observation{{Line: 2, Quadkey: qk, Signal: SignalWeak, Tests: 12, DownKbps: 4200}}); err != nil {
		t.Fatal(err)
	}
	if ls, err := st.Layers(ctx); err != nil || len(ls) != 3 {
		t.Fatalf("stored layers %v (%v), want the 3 put", ls, err)
	}

	// Three passes through the blank desa, 40 minutes apart, 41 checks,
	// none ok.
	bp := inside(t, s, blank)
	var survey []SurveyPoint
	start := tNow.Add(-6 * time.Hour)
	for pass, n := range []int{14, 14, 13} {
		for i := range n {
			at := start.Add(time.Duration(pass)*(40*time.Minute+14*10*time.Second) + time.Duration(i)*10*time.Second)
			survey = append(survey, SurveyPoint{Probe: "survey-1", Carrier: "XL", Time: at, Lat: bp.Lat(), Lon: bp.Lon()})
		}
	}
	pf, ok := ProbeFinding(coverage.StatusGood, 1, 120, tToday)
	if !ok {
		t.Fatal("a good status gave no finding")
	}
	m := Measured{Regions: map[string]Finding{probed: pf}, Survey: survey}

	sums, err := s.Regions(ctx, st, m, tNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(rs.Level(4)) {
		t.Fatalf("%d summaries, want one per desa (%d)", len(sums), len(rs.Level(4)))
	}
	got := bySummaryRegion(sums)

	bl := got[blank]
	if bl.Verdict != VerdictNone || bl.Basis != ClassMeasured {
		t.Errorf("%s: verdict %s on %s, want none on measured; %s", blank, bl.Verdict, bl.Basis, bl.Text())
	}
	if len(bl.Disputes) != 1 || bl.Disputes[0].Claim != claim.ID {
		t.Fatalf("%s: disputes %+v, want XL's claim", blank, bl.Disputes)
	}
	if by := bl.Disputes[0].By; len(by) != 1 || by[0].Layer != LayerSurvey || by[0].Count != 3 {
		t.Errorf("%s: disputed by %+v, want one survey finding of 3 passes", blank, by)
	}
	for _, want := range []string{"no signal per Podes 2024", "no Ookla tests", "3 survey passes on XL, 0 of 41 checks ok",
		"XL claims 4G: disputed by 3 survey passes"} {
		if !strings.Contains(bl.Text(), want) {
			t.Errorf("%s says %q, want it to say %q", blank, bl.Text(), want)
		}
	}

	rp := got[reported]
	if rp.Verdict != VerdictWeak || rp.Basis != ClassReported || rp.Disputed() {
		t.Errorf("%s: verdict %s on %s (disputed %v), want weak on reported; %s", reported, rp.Verdict, rp.Basis, rp.Disputed(), rp.Text())
	}
	if ok := got[ookla]; ok.Verdict != VerdictWeak || ok.Basis != ClassMeasured || !strings.Contains(ok.Text(), "12 Ookla tests in 1 tiles, 4.2 Mbps down") {
		t.Errorf("%s: verdict %s on %s, want weak on measured (Ookla); %s", ookla, ok.Verdict, ok.Basis, ok.Text())
	}
	if pr := got[probed]; pr.Verdict != VerdictCovered || pr.Basis != ClassMeasured {
		t.Errorf("%s: verdict %s on %s, want covered on the probes; %s", probed, pr.Verdict, pr.Basis, pr.Text())
	}
	unknown := 0
	for _, sum := range sums {
		if sum.Verdict == VerdictUnknown {
			unknown++
		}
	}
	// The claim's padded box may reach a neighbour's sample points; every
	// other desa has only "no Ookla tests".
	if unknown < len(sums)-6 || unknown > len(sums)-4 {
		t.Errorf("%d of %d desa unknown, want all but the 4 with evidence (and neighbours the claim covers)", unknown, len(sums))
	}

	// Tiles: the survey's tile rests on the passes and carries the claim.
	tiles, err := s.Tiles(ctx, st, m, tNow)
	if err != nil {
		t.Fatal(err)
	}
	bq := tile.Quadkey(tile.At(bp.Lat(), bp.Lon(), tile.DefaultZoom))
	found := false
	for _, ts := range tiles {
		if ts.Quadkey == bq {
			found = true
			if ts.Verdict != VerdictNone || !ts.Disputed() {
				t.Errorf("tile %s: verdict %s disputed %v, want none and disputed; %s", bq, ts.Verdict, ts.Disputed(), ts.Text())
			}
		}
	}
	if !found {
		t.Errorf("tile %s of the survey is not among the %d tiles", bq, len(tiles))
	}

	// A repeat reads no layer; a new version is read and changes the view.
	reads := st.reads.Load()
	if _, err := s.Regions(ctx, st, m, tNow); err != nil {
		t.Fatal(err)
	}
	if st.reads.Load() != reads {
		t.Errorf("a repeat with no new layer version read %d layers again", st.reads.Load()-reads)
	}
	podes.Date = tToday
	if _, err := st.Put(ctx, podes, []Observation{{Line: 2, Region: reported, Signal: SignalStrong, Tech: "4G"}}); err != nil {
		t.Fatal(err)
	}
	sums, err = s.Regions(ctx, st, m, tNow)
	if err != nil {
		t.Fatal(err)
	}
	if rp := bySummaryRegion(sums)[reported]; rp.Verdict != VerdictCovered {
		t.Errorf("%s after Podes version 2: verdict %s, want covered; %s", reported, rp.Verdict, rp.Text())
	}
}

func TestPassesSplitOnGaps(t *testing.T) {
	at := func(min int, ok bool) SurveyPoint {
		return SurveyPoint{Probe: "s", Carrier: "XL", Time: tToday.Add(time.Duration(min) * time.Minute), OK: ok}
	}
	place := func(lat, lon float64) string { return "here" }
	cases := []struct {
		name   string
		points []SurveyPoint
		passes int
	}{
		{"a gap of 29 minutes is one pass", []SurveyPoint{at(0, true), at(29, false)}, 1},
		{"a gap of exactly 30 minutes is one pass", []SurveyPoint{at(0, true), at(30, false)}, 1},
		{"a gap of 31 minutes is two", []SurveyPoint{at(0, true), at(31, false)}, 2},
		{"order does not matter", []SurveyPoint{at(64, true), at(0, true), at(32, false), at(1, true)}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := Passes(tc.points, place)
			if len(ps) != tc.passes {
				t.Fatalf("%d passes %+v, want %d", len(ps), ps, tc.passes)
			}
			checks := 0
			for _, p := range ps {
				checks += p.Checks
			}
			if checks != len(tc.points) {
				t.Errorf("passes hold %d checks, want all %d", checks, len(tc.points))
			}
		})
	}
	// Two probes in one place are two passes, and one finding per carrier.
	ps := Passes([]SurveyPoint{at(0, false), {Probe: "t", Carrier: "XL", Time: tToday}}, place)
	f := passFindings(ps, nil)["here"]
	if len(ps) != 2 || len(f) != 1 || f[0].Count != 2 || f[0].Signal != SignalNone {
		t.Errorf("two probes: passes %+v findings %+v, want 2 passes in one finding, signal none", ps, f)
	}
}

func TestProbeFinding(t *testing.T) {
	for _, tc := range []struct {
		st   coverage.Status
		want Signal
		ok   bool
	}{
		{coverage.StatusGood, SignalStrong, true},
		{coverage.StatusDegraded, SignalWeak, true},
		{coverage.StatusBlank, SignalNone, true},
		{coverage.StatusSilent, SignalUnknown, false},
		{coverage.StatusUnmeasured, SignalUnknown, false},
	} {
		f, ok := ProbeFinding(tc.st, 1, 10, tToday)
		if ok != tc.ok || (ok && (f.Signal != tc.want || f.Class != ClassMeasured)) {
			t.Errorf("%s: finding %+v (%v), want signal %s (%v)", tc.st, f, ok, tc.want, tc.ok)
		}
	}
}
