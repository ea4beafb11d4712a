package dashboards

import (
	"os"
	"path/filepath"
	"regexp"
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

// provisionedDataSource is a data source of the provisioning file.
type provisionedDataSource struct {
	Name, UID, Type, Access, URL string
	JSONData                     map[string]any    `yaml:"jsonData"`
	SecureJSONData               map[string]string `yaml:"secureJsonData"`
}

// collectorDataSource is the provisioned data source whose uid the
// coverage map's layer URL goes through.
func collectorDataSource(t *testing.T) provisionedDataSource {
	t.Helper()
	var ds struct{ Datasources []provisionedDataSource }
	readYAML(t, filepath.Join("grafana", "provisioning", "datasources", "jangkau.yaml"), &ds)
	for _, d := range ds.Datasources {
		if d.UID == CollectorUID {
			return d
		}
	}
	t.Fatalf("no data source %s is provisioned: %+v", CollectorUID, ds.Datasources)
	return provisionedDataSource{}
}

// envRef is a value Grafana's provisioning takes from the environment.
var envRef = regexp.MustCompile(`^\$\{?[A-Z][A-Z0-9_]*\}?$`)

// TestCollectorDataSourceCarriesTheViewerKey: the map layer's proxy data
// source reaches the collector server-side (access proxy), sends the
// viewer key as a custom Authorization header taken from the environment,
// and the file holds no key; deploy/compose.yaml gives Grafana both
// variables.
func TestCollectorDataSourceCarriesTheViewerKey(t *testing.T) {
	d := collectorDataSource(t)
	if d.Access != "proxy" || !envRef.MatchString(d.URL) {
		t.Errorf("access %q url %q: want access proxy and the URL from the environment", d.Access, d.URL)
	}
	// Grafana's data source proxy forwards a GET on any path outside the
	// plugin's routes for prometheus (pluginproxy validateRequest), with
	// jsonData.httpHeaderNameN / secureJsonData.httpHeaderValueN set on the
	// request by the data source's transport.
	if d.Type != "prometheus" {
		t.Errorf("type %q: the design relies on the core prometheus plugin's data source proxy", d.Type)
	}
	if d.JSONData["httpHeaderName1"] != "Authorization" {
		t.Errorf("jsonData.httpHeaderName1 %v, want Authorization", d.JSONData["httpHeaderName1"])
	}
	value, ok := strings.CutPrefix(d.SecureJSONData["httpHeaderValue1"], "Bearer ")
	if !ok || !envRef.MatchString(value) {
		t.Errorf("secureJsonData.httpHeaderValue1 %q, want Bearer ${VARIABLE}: the key comes from the environment", d.SecureJSONData["httpHeaderValue1"])
	}
	raw, _ := os.ReadFile(filepath.Join("grafana", "provisioning", "datasources", "jangkau.yaml"))
	if m := regexp.MustCompile(`(?i)bearer +[^$\s]|[0-9a-f]{32,}`).Find(raw); m != nil {
		t.Errorf("the provisioning file holds what looks like a key: %q", m)
	}
	var compose struct {
		Services map[string]struct{ Environment map[string]string }
	}
	readYAML(t, filepath.Join("..", "deploy", "compose.yaml"), &compose)
	env := compose.Services["grafana"].Environment
	for _, ref := range []string{d.URL, value} {
		name := strings.Trim(ref, "${}")
		if env[name] == "" {
			t.Errorf("deploy/compose.yaml gives Grafana no %s", name)
		}
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
