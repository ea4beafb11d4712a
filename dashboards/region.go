package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/jangkau/jangkau/collector/coverage"
)

// RegionDetail follows one kabupaten and one of its kecamatan over time:
// availability and latency from the collector's metrics (Prometheus) and
// from the stored results (InfluxDB, InfluxQL), and the e-service × region
// matrix.
func RegionDetail() (dashboard.Dashboard, error) {
	b := base("jangkau-region", "jangkau · Region detail",
		"Availability and latency of a kabupaten/kota and a kecamatan over time, and every e-service as seen from every kabupaten/kota.").
		WithVariable(promVar("kab", "Kabupaten/kota", `label_values(jangkau_region_samples{level="2"}, code)`)).
		WithVariable(promVar("region", "Kecamatan", `label_values(jangkau_region_samples{level="3", code=~"$kab\\..*"}, code)`)).
		WithVariable(promVar("service", "E-service", `label_values(jangkau_service_outage, service)`).
			IncludeAll(true).AllValue(".*").Multi(false))

	b = b.WithRow(dashboard.NewRowBuilder("From the collector's metrics (Prometheus, 15-minute window at each point)"))
	b = b.WithPanel(series("Availability", "percentunit",
		prom("A", `jangkau_region_availability_ratio{level="2", code="$kab"}`, "{{name}} ({{code}})"),
		prom("B", `jangkau_region_availability_ratio{level="3", code="$region"}`, "{{name}} ({{code}})")).
		Min(0).Max(1).GridPos(pos(0, 1, 12, 8)))
	b = b.WithPanel(series("Latency of successful checks", "s",
		prom("A", `jangkau_region_latency_seconds{level="2", code="$kab"}`, "{{code}} p{{percentile}}"),
		prom("B", `jangkau_region_latency_seconds{level="3", code="$region"}`, "{{code}} p{{percentile}}")).
		GridPos(pos(12, 1, 12, 8)))
	b = b.WithPanel(series("Status", "none",
		prom("A", `jangkau_region_status{level="3", code="$region"} == 1`, "{{status}}")).
		Description("1 while the kecamatan has that status.").GridPos(pos(0, 9, 12, 6)))
	b = b.WithPanel(series("E-service availability from $kab", "percentunit",
		prom("A", `jangkau_service_availability_ratio{level="2", code="$kab", service=~"$service"}`, "{{service}}")).
		Min(0).Max(1).GridPos(pos(12, 9, 12, 6)))

	b = b.WithRow(dashboard.NewRowBuilder("From the stored results (InfluxDB)"))
	where := `WHERE "kab" = '$kab' AND "service" =~ /^$service$/ AND $timeFilter`
	b = b.WithPanel(series("Availability of $kab by check kind (results)", "percentunit",
		influx("OK", `SELECT count("duration_ms") AS "ok" FROM "jangkau_result" `+where+` AND "ok" = true GROUP BY time($__interval), "kind" fill(0)`, "time_series", "$tag_kind ok"),
		influx("ALL", `SELECT count("duration_ms") AS "all" FROM "jangkau_result" `+where+` GROUP BY time($__interval), "kind" fill(none)`, "time_series", "$tag_kind all")).
		Description("Successful results over all results, per interval: two counts joined on time (InfluxQL cannot average a boolean).").
		Transformations([]dashboard.DataTransformerConfig{
			transform("joinByField", map[string]any{"byField": "Time", "mode": "outer"}),
			transform("calculateField", map[string]any{
				"mode":          "binary",
				"binary":        map[string]any{"left": "http ok", "operator": "/", "right": "http all"},
				"alias":         "http",
				"replaceFields": false,
			}),
			transform("organize", map[string]any{"excludeByName": map[string]any{"http ok": true, "http all": true}}),
		}).
		Min(0).Max(1).GridPos(pos(0, 16, 12, 8)))
	b = b.WithPanel(series("Latency of successful checks in $region (results)", "ms",
		influx("A", `SELECT percentile("duration_ms", 95) AS "p95", percentile("duration_ms", 50) AS "p50" FROM "jangkau_result" WHERE "region" = '$region' AND "service" =~ /^$service$/ AND "ok" = true AND $timeFilter GROUP BY time($__interval), "kind" fill(none)`, "time_series", "$tag_kind $col")).
		GridPos(pos(12, 16, 12, 8)))
	b = b.WithPanel(newTable().Title("Latest failures in $kab (results)").
		Description("The most recent failed checks with their error class (a field, so it cannot be grouped in InfluxQL).").
		Datasource(influxDS).
		WithTarget(influx("A", `SELECT "error_class", "status_code", "duration_ms", "probe", "check", "region" FROM "jangkau_result" `+where+` AND "ok" = false ORDER BY time DESC LIMIT 100`, "table", "")).
		GridPos(pos(12, 24, 12, 8)))
	b = b.WithPanel(series("Failed checks in $kab by check (results)", "none",
		influx("A", `SELECT count("duration_ms") FROM "jangkau_result" `+where+` AND "ok" = false GROUP BY time($__interval), "check" fill(0)`, "time_series", "$tag_check")).
		GridPos(pos(0, 24, 12, 8)))

	b = b.WithRow(dashboard.NewRowBuilder("E-services × regions"))
	b = b.WithPanel(newTable().Title("E-service availability by kabupaten/kota (last 15 minutes)").
		Description("Rows are kabupaten/kota, columns e-services; a column red everywhere is the e-service's own outage.").
		Datasource(promDS).
		WithTarget(prom("A", `jangkau_service_availability_ratio{level="2"}`, "").Instant().Format("table")).
		WithTransformation(transform("groupingToMatrix", map[string]any{
			"columnField": "service", "rowField": "code", "valueField": "Value",
		})).
		Unit("percentunit").Decimals(1).
		Thresholds(thresholds(coverage.StatusBlank.Colour(), 0.5, coverage.StatusDegraded.Colour(), 0.95, coverage.StatusGood.Colour())).
		CellOptions(common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
			Type: common.TableCellDisplayModeColorBackground,
		}}).
		GridPos(pos(0, 33, 24, 10)))
	return b.Build()
}

// series is a time-series panel with its targets.
func series(title, unit string, targets ...cog.Builder[variants.Dataquery]) *timeseries.PanelBuilder {
	ds := promDS
	if _, ok := targets[0].(*InfluxQLQuery); ok {
		ds = influxDS
	}
	p := timeseries.NewPanelBuilder().Title(title).Unit(unit).Datasource(ds).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		FillOpacity(10).LineWidth(1)
	for _, t := range targets {
		p = p.WithTarget(t)
	}
	return p
}
