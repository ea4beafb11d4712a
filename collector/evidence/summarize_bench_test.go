package evidence

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// BenchmarkSummarizeBanten summarizes the 1,552 desa of Banten (and the
// zoom-15 tiles) with a Podes row for every desa, three Ookla tiles and
// two speed tests in each, claims of three carriers over the real
// kabupaten outlines (4G over four kabupaten, 2G over all), and a
// survey probe's 10,000 results: cold (layers read, desa sampled) and
// warm (layers unchanged: the measured part and the combination).
func BenchmarkSummarizeBanten(b *testing.B) {
	ctx := context.Background()
	rs := loadBanten(b)
	st, err := OpenFile(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s0 := NewSummarizer(rs, tile.DefaultZoom)
	var podes, ookla, tests []Observation
	var survey []SurveyPoint
	signals := []Signal{SignalNone, SignalWeak, SignalStrong}
	for i, r := range rs.Level(rs.Deepest()) {
		podes = append(podes, Observation{Line: i + 2, Region: r.Code, Signal: signals[i%3], Tech: "4G"})
		for j, pt := range s0.samples()[r.Code] {
			if j < 3 {
				qk := tile.Quadkey(tile.At(pt.Lat(), pt.Lon(), OoklaZoom))
				ookla = append(ookla, Observation{Line: len(ookla) + 2, Quadkey: qk, Signal: signals[j%3], Tests: 5 + j, DownKbps: 3000})
			}
			if j < 2 {
				tests = append(tests, Observation{Line: len(tests) + 2, Lat: pt.Lat(), Lon: pt.Lon(), Carrier: "XL", Signal: signals[(i+j)%3],
					Time: tToday.Add(-time.Duration(i) * time.Minute)})
			}
			if len(survey) < 10_000 {
				for k := range 7 {
					survey = append(survey, SurveyPoint{Probe: "survey-1", Carrier: "XL", Lat: pt.Lat(), Lon: pt.Lon(), OK: k%2 == 0,
						Time: tToday.Add(-time.Duration(len(survey)) * 5 * time.Second)})
				}
			}
		}
	}
	put := func(l Layer, obs []Observation) {
		if _, err := st.Put(ctx, l, obs); err != nil {
			b.Fatal(err)
		}
	}
	put(Layer{ID: "podes-2024", Kind: KindPodes, Date: tCensus}, podes)
	put(Layer{ID: "ookla-mobile", Kind: KindOokla, Date: tClaim}, ookla)
	put(Layer{ID: "field", Kind: KindSpeedtest, Date: tClaim}, tests)
	kab := rs.Level(2)
	for _, carrier := range []string{"xl", "telkomsel", "indosat"} {
		var obs []Observation
		for i, k := range kab {
			mp := orb.MultiPolygon(region.Polygons(k.Geometry))
			obs = append(obs, Observation{Line: len(obs), Tech: "2G", Signal: SignalWeak, Area: mp})
			if i < 4 {
				obs = append(obs, Observation{Line: len(obs), Tech: "4G", Signal: SignalStrong, Area: mp})
			}
		}
		put(Layer{ID: "claim-" + carrier, Kind: KindClaim, Carrier: carrier, Date: tClaim}, obs)
	}
	m := Measured{Survey: survey}
	b.Logf("%d desa, %d Podes rows, %d Ookla tiles, %d speed tests, %d claim areas (%d kabupaten), %d survey results",
		len(rs.Level(4)), len(podes), len(ookla), len(tests), 3*(len(kab)+4), len(kab), len(survey))

	run := func(b *testing.B, s *Summarizer, tiles bool) {
		var sums []Summary
		var err error
		if tiles {
			sums, err = s.Tiles(ctx, st, m, tNow)
		} else {
			sums, err = s.Regions(ctx, st, m, tNow)
		}
		if err != nil || len(sums) == 0 {
			b.Fatalf("%d summaries, %v", len(sums), err)
		}
	}
	b.Run("cold-desa", func(b *testing.B) {
		for b.Loop() {
			run(b, NewSummarizer(rs, tile.DefaultZoom), false)
		}
	})
	for _, tiles := range []bool{false, true} {
		s := NewSummarizer(rs, tile.DefaultZoom)
		run(b, s, tiles)
		b.Run(fmt.Sprintf("warm-%s", map[bool]string{false: "desa", true: "tiles"}[tiles]), func(b *testing.B) {
			for b.Loop() {
				run(b, s, tiles)
			}
		})
	}
}
