package collector

import (
	"encoding/csv"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// Names that a spreadsheet would run as formulas, from the region file
// (a region's name), the config (a carrier) and ingest (check, service,
// error), come out of every CSV endpoint as text: prefixed with a single
// quote. Numbers stay numbers: the results' lat is -6.2, not '-6.2.
func TestCSVNeutralisesFormulas(t *testing.T) {
	const (
		regionName = `=HYPERLINK("http://127.0.0.1/","x")`
		carrier    = "@carrier"
		check      = "-2+3+cmd"
		service    = "+svc"
		errText    = "\tSUM(1)"
	)
	mk := func(code, name string, lon float64) *region.Region {
		p := square(lon, -6.5, 0.5)
		return &region.Region{Code: code, Name: name, Level: 3, Population: 1000, PopulationKnown: true, Geometry: p, Bound: p.Bound()}
	}
	regions, err := region.New([]*region.Region{mk("36.01.01", regionName, 106.5), mk("36.01.02", "Timur", 107)})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, regions, slog.New(slog.DiscardHandler), func(c *Config) {
		c.Probes = []ProbeConfig{{ID: "west", TokenSHA256: hash("tok-west"), Region: "36.01.01", Carrier: carrier}}
		c.Partners = []partner.Config{{Name: "all", KeySHA256: hash(keyAll), Raw: true}}
	})
	rs := results(1, 20, f.now, false, 0)
	for i := range rs {
		rs[i].Check, rs[i].Service, rs[i].Error = check, service, errText
		rs[i].Location = &wire.Location{Lat: -6.2, Lon: 106.7}
	}
	if code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: rs})); code != 200 || ir.Stored != len(rs) {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	for _, tc := range []struct {
		path, key string
		want      []string // cells each endpoint must hold, neutralised
	}{
		{"/api/v1/coverage?level=3&format=csv", "view-key", []string{"'" + regionName}},
		{"/api/v1/coverage/tiles?format=csv", "view-key", nil},
		{"/api/v1/services?level=3&format=csv", "view-key", []string{"'" + service, "'" + regionName}},
		{"/api/v1/export/coverage?level=3&format=csv", keyAll, []string{"'" + regionName}},
		{"/api/v1/export/tiles?format=csv", keyAll, nil},
		{"/api/v1/export/blankspots?format=csv", keyAll, []string{"'" + regionName}},
		{"/api/v1/export/results?window=6h&format=csv", keyAll, []string{"'" + carrier, "'" + check, "'" + service, "'" + errText, "-6.2"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, _, body := f.fetch(tc.path, tc.key)
			if code != 200 {
				t.Fatalf("%d: %s", code, body)
			}
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) < 2 {
				t.Fatalf("no rows:\n%s", body)
			}
			seen := map[string]bool{}
			for _, row := range rows[1:] {
				for i, cell := range row {
					seen[cell] = true
					if _, err := strconv.ParseFloat(cell, 64); err == nil || cell == "" {
						continue
					}
					if strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
						t.Errorf("column %s: cell %q would run as a formula", rows[0][i], cell)
					}
				}
			}
			for _, w := range tc.want {
				if !seen[w] {
					t.Errorf("no cell %q in:\n%s", w, body)
				}
			}
		})
	}
}
