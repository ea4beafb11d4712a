package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/geomap"
	"github.com/grafana/grafana-foundation-sdk/go/stat"

	"github.com/jangkau/jangkau/collector/coverage"
)

// CoverageMap is the province map: the regions of a level coloured by
// status (the collector's coverage GeoJSON), the probes as markers, and the
// blank/silent counts and people affected from Prometheus.
func CoverageMap() (dashboard.Dashboard, error) {
	b := base("jangkau-coverage", "jangkau · Coverage map",
		"Every region of a level by status over the last 15 minutes (the collector's /api/v1/coverage), the probes, and who is cut off.").
		WithVariable(dashboard.NewCustomVariableBuilder("level").Label("Level").
			Values(dashboard.StringOrMap{String: cog.ToPtr("1,2,3,4")}).
			Current(dashboard.VariableOption{Text: str("3"), Value: str("3")}).
			Description("1 provinsi, 2 kabupaten/kota, 3 kecamatan, 4 desa (when the region file has it)")).
		WithVariable(dashboard.NewTextBoxVariableBuilder("service").Label("E-service").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("")}).
			Description("An e-service name (see the Region detail table); empty: every e-service and the uplink")).
		WithVariable(dashboard.NewConstantVariableBuilder("collector").
			Value(dashboard.StringOrMap{String: cog.ToPtr("http://localhost:8080")}).
			Description("The collector's URL as the viewer's browser reaches it: the map layer is fetched by the browser (the collector needs public_read, or a same-origin proxy that adds the viewer key)"))
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
			"src":   "${collector}/api/v1/coverage?level=${level}&service=${service}",
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
		Description("Regions coloured by status: good, degraded, blank, silent, unmeasured (the map page's colours). Probe markers are coloured by seconds since they last reported.").
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
