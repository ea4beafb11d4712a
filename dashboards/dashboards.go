// Package dashboards holds jangkau's Grafana dashboards as code, built with
// the Grafana foundation SDK. `go generate ./dashboards` writes them to
// grafana/*.json, the files Grafana provisions (grafana/provisioning);
// a test checks that the committed files are what this code builds, that
// they decode strictly, and that every metric, rule and InfluxDB field
// they query is one jangkau really writes. The Prometheus rules live in
// prometheus/rules.yml.
package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

//go:generate go run ./gen

import (
	"encoding/json"
	"fmt"
	influxstore "github.com/jangkau/jangkau/collector/store/influx"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// The data sources' uids, as the provisioning files name them.
// CollectorUID is the collector itself, there only for Grafana's data
// source proxy: the province map's GeoJSON layer reads coverage through
// it (see CoverageLayerURL).
const (
	PrometheusUID = "jangkau-prometheus"
	InfluxDBUID   = "jangkau-influxdb"
	CollectorUID  = "jangkau-collector"
)

// InfluxDB schema the region dashboard reads: the results measurement of
// collector/store/influx, with its tags and fields, and its rollup
// measurements (by resolution) with theirs, as that package writes them.
var (
	InfluxMeasurement = influxstore.ResultMeasurement
	InfluxTags        = influxstore.ResultTags
	InfluxFields      = influxstore.ResultFields

	InfluxRollupMeasurements = influxstore.RollupMeasurements
	InfluxRollupTags         = influxstore.RollupTags
	InfluxRollupFields       = influxstore.RollupFields
)

var (
	promDS   = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(PrometheusUID)}
	influxDS = common.DataSourceRef{Type: cog.ToPtr("influxdb"), Uid: cog.ToPtr(InfluxDBUID)}
)

// Dashboard is one file of grafana/.
type Dashboard struct {
	File  string // name under grafana/
	Build func() (dashboard.Dashboard, error)
}

// All lists every dashboard.
func All() []Dashboard {
	return []Dashboard{
		{"coverage-map.json", CoverageMap},
		{"region-detail.json", RegionDetail},
		{"probe-fleet.json", ProbeFleet},
	}
}

// Render builds a dashboard into the exact bytes committed under grafana/.
func Render(d Dashboard) ([]byte, error) {
	db, err := d.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	out, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	// The SDK's marshallers escape HTML; unescape so that the map layer's
	// URL reads as written (& not \u0026). Same JSON either way.
	return []byte(htmlEscapes.Replace(string(out)) + "\n"), nil
}

var htmlEscapes = strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">")

// prom is an instant or range PromQL target.
func prom(ref, expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).Datasource(promDS)
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

// influx is a raw InfluxQL target.
func influx(ref, query, format, alias string) *InfluxQLQuery {
	return &InfluxQLQuery{RefID: ref, Datasource: &influxDS, Query: query, RawQuery: true, ResultFormat: format, Alias: alias}
}

func pos(x, y, w, h uint32) dashboard.GridPos { return dashboard.GridPos{X: x, Y: y, W: w, H: h} }

func thresholds(base string, steps ...any) *dashboard.ThresholdsConfigBuilder {
	out := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(steps); i += 2 {
		v := steps[i].(float64)
		out = append(out, dashboard.Threshold{Value: &v, Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

func transform(id string, options any) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: id, Options: options}
}

func promVar(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(promDS).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
}

func link(title, uid string) *dashboard.DashboardLinkBuilder {
	return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + uid).KeepTime(true).IncludeVars(true).Icon("dashboard").Tooltip(title).
		TargetBlank(false).AsDropdown(false).Tags([]string{})
}

func base(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).
		Tags([]string{"jangkau"}).Time("now-6h", "now").Refresh("1m").Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(link("Coverage map", "jangkau-coverage")).
		Link(link("Region detail", "jangkau-region")).
		Link(link("Probe fleet", "jangkau-fleet"))
}

// newTable is a table panel without a footer; Grafana's schema wants the
// footer's reducer list even then.
func newTable() *table.PanelBuilder {
	return table.NewPanelBuilder().
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false))
}
