package collector

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestStorageConfig(t *testing.T) {
	base, err := os.ReadFile("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, storage, wantErr string }{
		{"embedded default", "", ""},
		{"influxdb", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', token: 'u:p', bucket: jangkau/rp30d, precision: us, timeout: 3s}}", ""},
		{"database only", "storage: {kind: influxdb, influxdb: {url: 'https://influx.example:8086', bucket: jangkau}}", ""},
		{"unknown kind", "storage: {kind: postgres}", `storage.kind "postgres": embedded or influxdb`},
		{"no url", "storage: {kind: influxdb, influxdb: {bucket: db/rp}}", "storage.influxdb.url is required"},
		{"bad url", "storage: {kind: influxdb, influxdb: {url: '127.0.0.1:8086', bucket: db/rp}}", `storage.influxdb.url "127.0.0.1:8086" must be an http or https URL`},
		{"credentials in url", "storage: {kind: influxdb, influxdb: {url: 'http://u:p@127.0.0.1:8086', bucket: db/rp}}", "no query, fragment or credentials"},
		{"no bucket", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086'}}", `storage.influxdb.bucket ""`},
		{"bad bucket", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: a/b/c}}", `storage.influxdb.bucket "a/b/c"`},
		{"precision", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, precision: s}}", `storage.influxdb.precision "s": ms, us or ns`},
		{"timeout", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, timeout: 1h}}", "storage.influxdb.timeout (1h0m0s) must be between"},
		{"collector id", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, collector_id: c-1, change_poll: 2s}}", ""},
		{"collector id space", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, collector_id: ' c1'}}", `storage.influxdb.collector_id " c1"`},
		{"collector id control", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, collector_id: \"a\\tb\"}}", `storage.influxdb.collector_id "a\tb"`},
		{"change poll", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, change_poll: 2m}}", "storage.influxdb.change_poll (2m0s) must be between"},
		{"influxdb without kind", "storage: {influxdb: {url: 'http://127.0.0.1:8086'}}", `storage.influxdb is set but storage.kind is ""`},
		{"unknown key", "storage: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:8086', bucket: db, database: x}}", "field database not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(string(base)+"\n"+tc.storage+"\n"), t.TempDir())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.name == "influxdb" && (cfg.Storage.InfluxDB.Timeout != 3*time.Second || precisions[cfg.Storage.InfluxDB.Precision] != time.Microsecond) {
					t.Errorf("decoded %+v", cfg.Storage)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
