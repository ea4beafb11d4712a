package dashboards

//lint:file-ignore SA1019 dashboard v1 is the schema Grafana 10 and 11 provision from files; dashboardv2 needs Grafana 12.

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// ProbeFleet shows every probe's health: when the collector last heard from
// it, its clock and its losses (the collector's metrics), and its backlog,
// uploads and failures by class (the probe's own /metrics, job
// jangkau-probe, with a probe label per target: see the provisioning's
// prometheus.yml).
func ProbeFleet() (dashboard.Dashboard, error) {
	b := base("jangkau-fleet", "jangkau · Probe fleet",
		"Every probe: last report, clock offset, spool backlog, uploads and check failures by class.").
		WithVariable(promVar("probe", "Probe", `label_values(jangkau_probe_info, probe)`).IncludeAll(true).AllValue(".*").Multi(true))

	b = b.WithPanel(newTable().Title("Probes").
		Description("Seconds since the collector last stored a result of the probe, its clock offset, and results lost.").
		Datasource(promDS).
		WithTarget(prom("seen", `time() - jangkau_probe_last_seen_timestamp_seconds{probe=~"$probe"}`, "").Instant().Format("table")).
		WithTarget(prom("offset", `jangkau_probe_clock_offset_seconds{probe=~"$probe"}`, "").Instant().Format("table")).
		WithTarget(prom("lost", `jangkau_probe_results_lost_total{probe=~"$probe"}`, "").Instant().Format("table")).
		WithTarget(prom("info", `jangkau_probe_info{probe=~"$probe"}`, "").Instant().Format("table")).
		WithTransformation(transform("merge", map[string]any{})).
		WithTransformation(transform("organize", map[string]any{
			"excludeByName": map[string]any{"Time": true, "__name__": true, "job": true, "instance": true, "Value #info": true},
			"renameByName":  map[string]any{"Value #seen": "last seen (s ago)", "Value #offset": "clock offset (s)", "Value #lost": "results lost"},
		})).
		Thresholds(thresholds("green", 300.0, "#5A3E8C")).
		GridPos(pos(0, 0, 24, 9)))
	b = b.WithPanel(series("Since last report", "s",
		prom("A", `time() - jangkau_probe_last_seen_timestamp_seconds{probe=~"$probe"}`, "{{probe}}")).
		GridPos(pos(0, 9, 12, 8)))
	b = b.WithPanel(series("Clock offset (positive: probe ahead)", "s",
		prom("A", `jangkau_probe_clock_offset_seconds{probe=~"$probe"}`, "{{probe}}")).
		GridPos(pos(12, 9, 12, 8)))
	b = b.WithPanel(series("Spool backlog (probe side)", "none",
		prom("A", `jangkau_probe_spool_results{probe=~"$probe"}`, "{{probe}}")).
		Description("Results on the probe's disk waiting for the collector's acknowledgement. The probes do not report this to the collector: it needs their own /metrics scraped.").
		GridPos(pos(0, 17, 12, 8)))
	b = b.WithPanel(series("Oldest unsent result and drain rate (probe side)", "s",
		prom("A", `jangkau_probe_spool_oldest_result_age_seconds{probe=~"$probe"}`, "{{probe}} oldest"),
		prom("B", `jangkau_probe_upload_backlog_drain_rate{probe=~"$probe"}`, "{{probe}} results/s")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{{Id: "unit", Value: "none"}}).
		GridPos(pos(12, 17, 12, 8)))
	b = b.WithPanel(series("Check failures by class (probe side)", "ops",
		prom("A", `sum by (probe, class) (rate(jangkau_probe_check_failures_total{probe=~"$probe"}[5m]))`, "{{probe}} {{class}}")).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		GridPos(pos(0, 25, 12, 8)))
	b = b.WithPanel(series("Uploads and drops (probe side)", "ops",
		prom("A", `sum by (probe, result) (rate(jangkau_probe_uploads_total{probe=~"$probe"}[5m]))`, "{{probe}} upload {{result}}"),
		prom("B", `sum by (probe, reason) (rate(jangkau_probe_spool_dropped_total{probe=~"$probe"}[5m]))`, "{{probe}} dropped {{reason}}")).
		GridPos(pos(12, 25, 12, 8)))
	b = b.WithPanel(series("Ingest at the collector", "reqps",
		prom("A", `jangkau:ingest_requests:rate5m`, "HTTP {{code}}"),
		prom("B", `jangkau:ingest_results:rate5m`, "results {{outcome}}")).
		GridPos(pos(0, 33, 24, 8)))
	return b.Build()
}
