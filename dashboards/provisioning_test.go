package dashboards

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestProvisioningMatches keeps the deployment consistent with what the
// other tests check: Grafana's data sources carry the uids the dashboards
// name, and deploy/compose.yaml mounts these very provisioning files,
// dashboards and rules rather than copies.
func TestProvisioningMatches(t *testing.T) {
	var ds struct {
		Datasources []struct{ UID, Type string }
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "datasources", "jangkau.yaml"), &ds)
	got := map[string]string{}
	for _, d := range ds.Datasources {
		got[d.UID] = d.Type
	}
	if got[PrometheusUID] != "prometheus" || got[InfluxDBUID] != "influxdb" {
		t.Errorf("provisioned data sources %v, want %s (prometheus) and %s (influxdb)", got, PrometheusUID, InfluxDBUID)
	}
	var dp struct {
		Providers []struct{ Options struct{ Path string } }
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "dashboards", "jangkau.yaml"), &dp)
	if len(dp.Providers) != 1 {
		t.Fatalf("dashboard providers: %+v", dp)
	}
	var compose struct {
		Services map[string]struct{ Volumes []string }
	}
	readYAML(t, filepath.Join("..", "deploy", "compose.yaml"), &compose)
	for svc, want := range map[string][]string{
		"grafana": {
			"../dashboards/grafana/provisioning:/etc/grafana/provisioning:ro",
			"../dashboards/grafana:" + dp.Providers[0].Options.Path + ":ro",
		},
		"prometheus": {"../dashboards/prometheus/rules.yml:/etc/prometheus/jangkau/rules.yml:ro"},
	} {
		for _, v := range want {
			if !slices.Contains(compose.Services[svc].Volumes, v) {
				t.Errorf("deploy/compose.yaml: service %s does not mount %s", svc, v)
			}
		}
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join("..", "deploy", "prometheus.yml"), &prom)
	if !slices.Contains(prom.RuleFiles, "/etc/prometheus/jangkau/rules.yml") {
		t.Errorf("deploy/prometheus.yml loads %v, not the mounted rules", prom.RuleFiles)
	}
	// The rules' tests and the fleet dashboard use the job names below.
	rules, _ := os.ReadFile(filepath.Join("prometheus", "rules_test.yml"))
	if len(prom.ScrapeConfigs) == 0 || prom.ScrapeConfigs[0].JobName != "jangkau-collector" ||
		!strings.Contains(string(rules), `job="jangkau-collector"`) {
		t.Errorf("deploy/prometheus.yml scrapes %+v; the rules' tests assume job jangkau-collector", prom.ScrapeConfigs)
	}
}
