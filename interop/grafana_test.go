package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/collector/coverage"
)

// The Grafana dashboards and provisioning, as generated in the repository.
var grafanaDir = filepath.Join("..", "dashboards", "grafana")

// geojsonLayer is a Geomap GeoJSON layer's config, as Grafana reads it.
type geojsonLayer struct {
	Src   string `json:"src"`
	Rules []struct {
		Check struct {
			Property  string `json:"property"`
			Operation string `json:"operation"`
			Value     any    `json:"value"`
		} `json:"check"`
		Style layerStyle `json:"style"`
	} `json:"rules"`
	Style layerStyle `json:"style"`
}

type layerStyle struct {
	Color struct {
		Fixed string `json:"fixed"`
	} `json:"color"`
	Opacity   *float64 `json:"opacity"`
	LineWidth float64  `json:"lineWidth"`
}

// dashboardVariable is a template variable of a dashboard.
type dashboardVariable struct {
	Type, Name, Query string
	Current           struct{ Value any }
}

// provinceMap finds the Geomap panel's GeoJSON layer in the generated
// dashboards, with the dashboard's variables.
func provinceMap(t *testing.T) (geojsonLayer, []dashboardVariable, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(grafanaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboard in %s: %v", grafanaDir, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Type, Title string
				Options     struct {
					Layers []struct {
						Type   string
						Config json.RawMessage
					}
				}
			}
			Templating struct{ List []dashboardVariable }
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range d.Panels {
			for _, l := range p.Options.Layers {
				if p.Type != "geomap" || l.Type != "geojson" {
					continue
				}
				var layer geojsonLayer
				if err := json.Unmarshal(l.Config, &layer); err != nil {
					t.Fatalf("%s, panel %q: %v", file, p.Title, err)
				}
				return layer, d.Templating.List, fmt.Sprintf("%s, panel %q", filepath.Base(file), p.Title)
			}
		}
	}
	t.Fatalf("no Geomap panel with a GeoJSON layer in %s", grafanaDir)
	return geojsonLayer{}, nil, ""
}

var variableRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// interpolate replaces the dashboard's variables in the layer's URL as
// Grafana does (Grafana 12.1 and later). The user picks level 2, the
// kabupaten, among the levels the dashboard offers; a constant holding the
// collector's URL is set, as an operator would, to where the collector
// runs; every other variable keeps the dashboard's current value.
func interpolate(t *testing.T, c *collector, src string, vars []dashboardVariable) string {
	t.Helper()
	values := map[string]string{}
	for _, v := range vars {
		switch {
		case v.Name == "level":
			if !strings.Contains(","+v.Query+",", ",2,") {
				t.Fatalf("variable level offers %q, not 2 (kabupaten)", v.Query)
			}
			values[v.Name] = "2"
		case v.Type == "constant" && strings.HasPrefix(v.Query, "http"):
			values[v.Name] = c.base
		case v.Type == "constant", v.Type == "textbox":
			values[v.Name] = v.Query
		default:
			values[v.Name] = fmt.Sprint(v.Current.Value)
		}
	}
	return variableRE.ReplaceAllStringFunc(src, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := values[name]
		if !ok {
			t.Fatalf("layer URL %q uses variable %s, which the dashboard does not define", src, name)
		}
		return v // Grafana inserts a URL's variables as they are
	})
}

// provisionedDatasource is a data source of
// dashboards/grafana/provisioning/datasources.
type provisionedDatasource struct {
	UID, Type, Access, URL string
	BasicAuth              bool              `yaml:"basicAuth"`
	BasicAuthUser          string            `yaml:"basicAuthUser"`
	JSONData               map[string]any    `yaml:"jsonData"`
	SecureJSONData         map[string]string `yaml:"secureJsonData"`
}

func datasource(uid string) (*provisionedDatasource, error) {
	files, _ := filepath.Glob(filepath.Join(grafanaDir, "provisioning", "datasources", "*.y*ml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var p struct{ Datasources []provisionedDatasource }
		if err := yaml.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, ds := range p.Datasources {
			if ds.UID == uid {
				return &ds, nil
			}
		}
	}
	return nil, fmt.Errorf("no provisioned data source has uid %q (%d files in %s)", uid, len(files), grafanaDir)
}

// grafanaProxy stands in for Grafana's data source proxy, because no
// Grafana server can run here. It does what Grafana documents for a
// data source with access: proxy: /api/datasources/proxy/uid/<uid>/<path>
// goes to the data source's URL joined with <path>, with the query, the
// browser's cookies and Authorization dropped, and the data source's custom
// headers (jsonData.httpHeaderNameN with secureJsonData.httpHeaderValueN)
// and Basic auth added. The provisioned file takes its URL and secrets from
// the environment, as deploy/compose.yaml sets them: here a variable in the
// URL is the collector's address, and one in a secret the Grafana viewer's
// key.
func (c *collector) grafanaProxy(w http.ResponseWriter, r *http.Request) {
	ds, err := datasource(r.PathValue("uid"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if ds.Access != "proxy" {
		http.Error(w, fmt.Sprintf("data source %s has access %q: Grafana proxies only access: proxy", ds.UID, ds.Access), http.StatusForbidden)
		return
	}
	secret := func(s string) string { return os.Expand(s, func(string) string { return c.viewers["grafana"] }) }
	target, err := url.Parse(os.Expand(ds.URL, func(string) string { return c.base }))
	if err != nil || target.Host == "" {
		http.Error(w, fmt.Sprintf("data source %s: url %q: %v", ds.UID, ds.URL, err), http.StatusBadGateway)
		return
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		out := *target // its path joined to the proxied one, absolute, as Grafana's JoinURLFragments makes it
		out.Path = strings.TrimSuffix(target.Path, "/") + "/" + strings.TrimPrefix(r.PathValue("path"), "/")
		pr.Out.URL = &out
		pr.Out.URL.RawQuery = r.URL.RawQuery
		pr.Out.Host = target.Host
		pr.Out.Header.Del("Cookie")
		pr.Out.Header.Del("Authorization")
		for i := 1; ; i++ {
			name, ok := ds.JSONData[fmt.Sprintf("httpHeaderName%d", i)].(string)
			if !ok {
				break
			}
			pr.Out.Header.Set(name, secret(ds.SecureJSONData[fmt.Sprintf("httpHeaderValue%d", i)]))
		}
		if ds.BasicAuth {
			pr.Out.SetBasicAuth(secret(ds.BasicAuthUser), secret(ds.SecureJSONData["basicAuthPassword"]))
		}
	}, ModifyResponse: func(resp *http.Response) error {
		if resp.StatusCode >= 400 { // say why in the test's failure, as Grafana's proxy passes it on
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			fmt.Fprintf(os.Stderr, "grafana proxy: %s %s answered %s: %s\n", r.Method, resp.Request.URL.RequestURI(), resp.Status, body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		return nil
	}}
	proxy.ServeHTTP(w, r)
}

// TestGrafanaProvinceMap loads the dashboard's province map layer the way
// Grafana's Geomap does, in headless Chromium on another origin than the
// collector (Grafana's), with the collector's default public_read: false,
// and checks that Pandeglang is drawn in the blank colour.
func TestGrafanaProvinceMap(t *testing.T) {
	c := startCollector(t)
	if c.corsRejected != "" {
		t.Logf("the collector refuses the cors key (%s): it ran without it", c.corsRejected)
	}
	layer, vars, where := provinceMap(t)
	src := interpolate(t, c, layer.Src, vars)
	// Grafana's index.html sets <base href="{AppSubUrl}/">, so a relative
	// layer URL resolves against Grafana's root, not the page's folder.
	if u, err := url.Parse(src); err == nil && !u.IsAbs() && !strings.HasPrefix(src, "/") {
		src = "/" + src
	}
	t.Logf("%s: layer URL %q requested as %q from the page at %s", where, layer.Src, src, c.page.URL)

	var blank *layerStyle
	for i, r := range layer.Rules {
		if r.Check.Property == "status" && r.Check.Operation == "eq" && r.Check.Value == string(coverage.StatusBlank) {
			blank = &layer.Rules[i].Style
		}
	}
	if blank == nil {
		t.Fatalf("%s: no style rule for status = %s", where, coverage.StatusBlank)
	}
	if !strings.EqualFold(blank.Color.Fixed, coverage.StatusBlank.Colour()) {
		t.Errorf("%s: the rule for blank fills %s, the map page %s", where, blank.Color.Fixed, coverage.StatusBlank.Colour())
	}
	var res struct {
		LoadError string
		Features  int
		Points    [][2]float64
	}
	rep, img := browse(t, c, "openlayers.html", map[string]any{
		"src": src, "rules": layer.Rules, "style": layer.Style,
		"center": [2]float64{106.1, -6.4}, "zoom": 9, "points": pandeglangPoints(c),
	}, &res)
	want := len(c.ogcFeatures(t, "regions-2", ""))
	if res.LoadError != "" || res.Features != want {
		t.Fatalf("the Geomap layer loaded %d of %d kabupaten from %s: %s", res.Features, want, src, res.LoadError)
	}
	for _, r := range rep.Responses {
		if strings.HasSuffix(r.URL, src) && r.Headers["content-encoding"] != "gzip" {
			t.Errorf("the layer's GeoJSON came uncompressed (Content-Encoding %q) to a browser that accepts gzip", r.Headers["content-encoding"])
		}
	}
	// Grafana fills at the rule's opacity over the (white) panel.
	opacity := 0.8
	if blank.Opacity != nil {
		opacity = *blank.Opacity
	}
	col := hexColour(t, blank.Color.Fixed)
	mix := func(v uint8) uint8 { return uint8(math.Round(opacity*float64(v) + (1-opacity)*255)) }
	checkPixels(t, img, res.Points, color.RGBA{mix(col.R), mix(col.G), mix(col.B), 255},
		fmt.Sprintf("the blank colour %s at opacity %g", blank.Color.Fixed, opacity))
}
