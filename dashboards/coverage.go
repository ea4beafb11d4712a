package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/geomap"
	"github.com/grafana/grafana-foundation-sdk/go/stat"

	"github.com/jangkau/jangkau/collector/coverage"
)

// CoverageLayerURL is what the province map's GeoJSON layer fetches: the
// collector's coverage of a level, through Grafana's data source proxy
// (/api/datasources/proxy/uid/<uid>/<path>), so that the browser asks
// Grafana on its own origin with its Grafana session, and Grafana asks
// the collector server-side with the viewer key of the provisioned data
// source CollectorUID (a custom Authorization header from the
// environment). The collector may then sit on another origin, or on no
// origin a browser can reach, with public_read: false and no CORS. The
// path is relative, as Grafana's own default layer file is, so that it
// resolves against Grafana's <base href> (its root_url, sub path
// included). Geomap interpolates ${level} and ${service} in it since
// Grafana 12.1.
const CoverageLayerURL = "api/datasources/proxy/uid/" + CollectorUID + "/api/v1/coverage?level=${level}&service=${service}"

// coverageMapDescription says how the map layer reaches the collector,
// and the status colours its rules give.
func coverageMapDescription() string {
	var colours []string
	for _, st := range coverage.Statuses {
		colours = append(colours, string(st)+" "+st.Colour())
	}
	return "Every region of a level by status over the last 15 minutes, the probes, and who is cut off. " +
		"The region layer is the collector's /api/v1/coverage GeoJSON, fetched by the browser from Grafana's data source proxy: " +
		CoverageLayerURL + " (relative to Grafana's URL). Grafana forwards it to the provisioned data source " + CollectorUID +
		" (url $JANGKAU_COLLECTOR_URL, as Grafana's server reaches the collector) with the header Authorization: Bearer $JANGKAU_VIEWER_KEY, " +
		"so the collector needs neither public_read nor CORS, and the key never reaches the browser. Needs Grafana 12.1 or later " +
		"(variables in the layer URL). Colours by status: " + strings.Join(colours, ", ") + " (the map page's)."
}

// CoverageMap is the province map: the regions of a level coloured by
// status (the collector's coverage GeoJSON), the probes as markers, and the
// blank/silent counts and people affected from Prometheus.
func CoverageMap() (dashboard.Dashboard, error) {
	b := base("jangkau-coverage", "jangkau · Coverage map", coverageMapDescription()).
		WithVariable(dashboard.NewCustomVariableBuilder("level").Label("Level").
			Values(dashboard.StringOrMap{String: cog.ToPtr("1,2,3,4")}).
			Current(dashboard.VariableOption{Text: str("3"), Value: str("3")}).
			Description("1 provinsi, 2 kabupaten/kota, 3 kecamatan, 4 desa (when the region file has it)")).
		WithVariable(dashboard.NewTextBoxVariableBuilder("service").Label("E-service").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("")}).
			Description("An e-service name (see the Region detail table); empty: every e-service and the uplink"))
	b = b.WithPanel(statPanel("Blank regions", `sum(jangkau:region_status:count{level="$level", status="blank"}) or vector(0)`,
		"Regions of the level whose checks mostly fail.", coverage.StatusBlank.Colour()).GridPos(pos(0, 0, 6, 4)))
	b = b.WithPanel(statPanel("Silent regions", `sum(jangkau:region_status:count{level="$level", status="silent"}) or vector(0)`,
		"Regions whose probes all stopped reporting: the live sign of a cut link.", coverage.StatusSilent.Colour()).GridPos(pos(6, 0, 6, 4)))
	b = b.WithPanel(statPanel("People affected", `jangkau:region_people_affected:sum or vector(0)`,
		"People living in the deepest regions that are blank or silent (where population is known).", coverage.StatusBlank.Colour()).GridPos(pos(12, 0, 6, 4)))
	b = b.WithPanel(statPanel("Probes silent > 10 min", `count(time() - jangkau_probe_last_seen_timestamp_seconds > 600) or vector(0)`,
		"Probes the collector has heard nothing from for 10 minutes.", coverage.StatusSilent.Colour()).GridPos(pos(18, 0, 6, 4)))
	b = b.WithPanel(coverageGeomap().GridPos(pos(0, 4, 24, 18)))
	return b.Build()
}

func str(s string) dashboard.StringOrArrayOfString {
	return dashboard.StringOrArrayOfString{String: &s}
}

func statPanel(title, expr, description, colour string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(description).Datasource(promDS).
		WithTarget(prom("A", expr, "").Instant()).
		ColorMode(common.BigValueColorModeValue).GraphMode(common.BigValueGraphModeNone).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Thresholds(thresholds("text", 1.0, colour)).Unit("none").Decimals(0)
}

// statusRule colours a GeoJSON feature by its status property.
func statusRule(s coverage.Status) map[string]any {
	return map[string]any{
		"check": map[string]any{"property": "status", "operation": "eq", "value": string(s)},
		"style": map[string]any{"color": map[string]any{"fixed": s.Colour()}, "opacity": 0.75, "lineWidth": 1},
	}
}

func coverageGeomap() *geomap.PanelBuilder {
	var rules []any
	for _, s := range coverage.Statuses {
		rules = append(rules, statusRule(s))
	}
	regions := common.NewMapLayerOptionsBuilder().Type("geojson").Name("Regions").Tooltip(true).
		Config(map[string]any{
			"src":   CoverageLayerURL,
			"rules": rules,
			"style": map[string]any{"color": map[string]any{"fixed": coverage.StatusUnmeasured.Colour()}, "opacity": 0.4, "lineWidth": 1},
		})
	probes := common.NewMapLayerOptionsBuilder().Type("markers").Name("Probes").Tooltip(true).
		Location(common.NewFrameGeometrySourceBuilder().Mode(common.FrameGeometrySourceModeCoords).
			Latitude("lat").Longitude("lon")).
		FilterData(map[string]any{"id": "byRefId", "options": "probes"}).
		Config(map[string]any{
			"showLegend": true,
			"style": map[string]any{
				"color":  map[string]any{"field": "Value", "fixed": "dark-green"},
				"size":   map[string]any{"fixed": 6, "min": 2, "max": 15},
				"symbol": map[string]any{"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
			},
		})
	// A probe's marker is coloured by how long ago it last reported.
	probesExpr := `jangkau_probe_info{lat!=""} * on (probe) group_left () (time() - jangkau_probe_last_seen_timestamp_seconds)`
	return geomap.NewPanelBuilder().Title("Coverage by region").
		Description("Regions coloured by status: good, degraded, blank, silent, unmeasured (the map page's colours), read through Grafana's data source proxy (" + CoverageLayerURL + "). Probe markers are coloured by seconds since they last reported.").
		Datasource(promDS).
		WithTarget(prom("probes", probesExpr, "").Instant().Format("table")).
		WithTransformation(transform("convertFieldType", map[string]any{
			"conversions": []any{
				map[string]any{"targetField": "lat", "destinationType": "number"},
				map[string]any{"targetField": "lon", "destinationType": "number"},
			},
			"fields": map[string]any{},
		})).
		View(geomap.NewMapViewConfigBuilder().Id("fit").Lat(0).Lon(0).Zoom(8).AllLayers(true)).
		Controls(geomap.NewControlsOptionsBuilder().ShowZoom(true).MouseWheelZoom(true).ShowScale(true)).
		Basemap(common.NewMapLayerOptionsBuilder().Type("default").Name("Basemap")).
		Layers([]cog.Builder[common.MapLayerOptions]{regions, probes}).
		Tooltip(geomap.NewTooltipOptionsBuilder().Mode(geomap.TooltipModeDetails)).
		Unit("s").
		Thresholds(thresholds("green", 300.0, coverage.StatusSilent.Colour()))
}
