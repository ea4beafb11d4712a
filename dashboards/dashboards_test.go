package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

var update = flag.Bool("update", false, "rewrite grafana/*.json (same as go generate)")

// TestCommittedDashboards checks that grafana/*.json is exactly what the
// code builds: a change to the code without `go generate` fails here.
func TestCommittedDashboards(t *testing.T) {
	for _, d := range All() {
		t.Run(d.File, func(t *testing.T) {
			want, err := Render(d)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("grafana", d.File)
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the code builds: run `go generate ./dashboards`", path)
			}
		})
	}
}

// strictDecode reads a dashboard as Grafana's schema says, refusing
// unknown or mistyped fields. The SDK returns a typed-nil cog.BuildErrors
// on success, so an error is one with entries.
func strictDecode(data []byte) (dashboard.Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(InfluxQLVariant())
	var db dashboard.Dashboard
	err := db.UnmarshalJSONStrict(data)
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		err = nil
	}
	return db, err
}

func TestDashboardsDecodeStrictly(t *testing.T) {
	for _, d := range All() {
		t.Run(d.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("grafana", d.File))
			if err != nil {
				t.Fatal(err)
			}
			db, err := strictDecode(data)
			if err != nil {
				t.Fatalf("strict decode: %v", err)
			}
			if len(db.Panels) == 0 || db.Uid == nil || *db.Uid == "" {
				t.Fatalf("decoded no panels or no uid: %+v", db)
			}
			for _, p := range db.Panels {
				if p.Panel == nil {
					continue // a row
				}
				for _, q := range p.Panel.Targets {
					if err := q.Validate(); err != nil {
						t.Errorf("panel %q: %v", title(p.Panel.Title), err)
					}
					if q.DataqueryType() == "unknown" {
						t.Errorf("panel %q: a target of no known type: %+v", title(p.Panel.Title), q)
					}
				}
			}
		})
	}
	// The decoder is really strict: an unknown field is refused.
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join("grafana", "coverage-map.json"))
	json.Unmarshal(data, &raw)
	raw["refreshh"] = "1m"
	bad, _ := json.Marshal(raw)
	if _, err := strictDecode(bad); err == nil {
		t.Error("a dashboard with an unknown field decoded strictly")
	}
}

// TestCoverageMapLayers checks what Grafana cannot be asked here: the
// region layer reads the collector's coverage endpoint through Grafana's
// data source proxy and colours every status as the map page does.
func TestCoverageMapLayers(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("grafana", "coverage-map.json"))
	var db struct {
		Description *string
		Panels      []struct {
			Type    string
			Options struct {
				Layers []struct {
					Type   string
					Config struct {
						Src   string
						Rules []struct {
							Check struct{ Property, Operation, Value string }
							Style struct{ Color struct{ Fixed string } }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(data, &db); err != nil {
		t.Fatal(err)
	}
	colours := map[string]string{"good": "#009E73", "degraded": "#F0E442", "blank": "#D55E00", "silent": "#5A3E8C", "unmeasured": "#C8C8C8"}
	found := false
	for _, p := range db.Panels {
		if p.Type != "geomap" {
			continue
		}
		for _, l := range p.Options.Layers {
			if l.Type != "geojson" {
				continue
			}
			found = true
			// Same-origin for the browser: Grafana's data source proxy of
			// the provisioned collector, relative to Grafana's base URL.
			proxy := "api/datasources/proxy/uid/" + collectorDataSource(t).UID + "/"
			rest, ok := strings.CutPrefix(l.Config.Src, proxy)
			if !ok || rest != "api/v1/coverage?level=${level}&service=${service}" {
				t.Errorf("geojson src %q, want %sapi/v1/coverage?level=${level}&service=${service}", l.Config.Src, proxy)
			}
			if !strings.Contains(*db.Description, l.Config.Src) {
				t.Errorf("the dashboard's description does not state the layer URL %s", l.Config.Src)
			}
			got := map[string]string{}
			for _, r := range l.Config.Rules {
				if r.Check.Property != "status" || r.Check.Operation != "eq" {
					t.Errorf("rule %+v", r)
				}
				got[r.Check.Value] = r.Style.Color.Fixed
			}
			if len(got) != len(colours) {
				t.Errorf("status colours %v, want %v", got, colours)
			}
			for s, c := range colours {
				if got[s] != c {
					t.Errorf("status %s coloured %q, want %q", s, got[s], c)
				}
			}
		}
	}
	if !found {
		t.Error("no geomap panel with a geojson layer")
	}
}

func title(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
