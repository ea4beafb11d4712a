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
// from the stored results (InfluxDB, InfluxQL: the rollups, deduplicated
// across collectors, and the raw results for the latest failures), and
// the e-service × region matrix.
func RegionDetail() (dashboard.Dashboard, error) {
	b := base("jangkau-region", "jangkau · Region detail",
		"Availability and latency of a kabupaten/kota and a kecamatan over time, and every e-service as seen from every kabupaten/kota.").
		WithVariable(promVar("kab", "Kabupaten/kota", `label_values(jangkau_region_samples{level="2"}, code)`)).
		WithVariable(promVar("region", "Kecamatan", `label_values(jangkau_region_samples{level="3", code=~"$kab\\..*"}, code)`)).
		WithVariable(promVar("service", "E-service", `label_values(jangkau_service_outage, service)`).
			IncludeAll(true).AllValue(".*").Multi(false)).
		WithVariable(dashboard.NewCustomVariableBuilder("rollup").Label("Rollup").
			Values(dashboard.StringOrMap{String: cog.ToPtr("1m,1h")}).
			Current(dashboard.VariableOption{Text: str("1m"), Value: str("1m")}).
			Description("The InfluxDB rollups the panels read: minutes (jangkau_rollup_1m) or hours (jangkau_rollup_1h, for ranges of days)"))

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

	b = b.WithRow(dashboard.NewRowBuilder("From the stored results (InfluxDB rollups; raw results for the failures table)"))
	kab := `"kab" = '$kab' AND "service" =~ /^$service$/`
	b = b.WithPanel(series("Availability of $kab by check kind (rollups)", "percentunit",
		influx("A", `SELECT sum("ok") / sum("count") AS "availability" FROM `+deduped(kab, "ok")+` WHERE $timeFilter GROUP BY time($__interval), "kind" fill(none)`, "time_series", "$tag_kind")).
		Description("Successful checks over all checks per interval, from the $rollup rollups (per bucket and probe × region × carrier × e-service × kind, the point of the collector that counted the most: each collector writes a complete snapshot). Choose the 1h rollups for ranges of days.").
		Interval("$rollup").Min(0).Max(1).GridPos(pos(0, 16, 12, 8)))
	b = b.WithPanel(series("Latency of successful checks in $region (rollups)", "ms",
		influx("A", `SELECT max("p95_ms") AS "worst p95", median("p50_ms") AS "median p50" FROM `+deduped(`"region" = '$region' AND "service" =~ /^$service$/`, "p50_ms", "p95_ms")+` WHERE $timeFilter GROUP BY time($__interval), "kind" fill(none)`, "time_series", "$tag_kind $col")).
		Description("Per interval, the highest p95 and the median p50 among the $rollup rollup rows (one probe × carrier × e-service × kind over one bucket): a row's percentiles cannot be merged in InfluxQL, so this is not the kecamatan's own p95. The coverage map and API merge the rows' latency sketches for that.").
		Interval("$rollup").GridPos(pos(12, 16, 12, 8)))
	b = b.WithPanel(newTable().Title("Latest failures in $kab (results)").
		Description("The most recent failed checks with their error class. This lists results, so it reads the raw points (jangkau_result), at most 100.").
		Datasource(influxDS).
		WithTarget(influx("A", `SELECT "error_class", "status_code", "duration_ms", "probe", "check", "region" FROM "jangkau_result" WHERE `+kab+` AND "ok" = false AND $timeFilter ORDER BY time DESC LIMIT 100`, "table", "")).
		GridPos(pos(12, 24, 12, 8)))
	b = b.WithPanel(series("Failed checks in $kab by e-service (rollups)", "none",
		influx("A", `SELECT sum("count") - sum("ok") AS "failed" FROM `+deduped(kab, "ok")+` WHERE $timeFilter GROUP BY time($__interval), "service" fill(none)`, "time_series", "$tag_service")).
		Description("Failed checks per interval from the $rollup rollups (deduplicated as in the availability panel). The rollups keep no check name: the failures table names the checks.").
		Interval("$rollup").GridPos(pos(0, 24, 12, 8)))

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

// rollupRow groups rollup points by every tag but collector: one row per
// bucket, probe, region, carrier, e-service and kind.
const rollupRow = `"probe", "region", "kab", "carrier", "service", "kind"`

// deduped is an InfluxQL subquery over the rollups the $rollup variable
// names: per bucket and row, the point of the collector that counted the
// most, which is the truth (each collector writes a complete snapshot of
// what the database held; see docs/storage.md). The fields listed come
// from that same point: with a selector such as max, InfluxQL returns
// the other fields of the point it selected.
func deduped(where string, fields ...string) string {
	sel := `max("count") AS "count"`
	for _, f := range fields {
		sel += `, "` + f + `"`
	}
	return `(SELECT ` + sel + ` FROM "jangkau_rollup_$rollup" WHERE ` + where + ` AND $timeFilter GROUP BY time($rollup), ` + rollupRow + ` fill(none))`
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
