//go:build !probeonly

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRollupRebuildCommand: raw points written without rollups (as a
// version before them wrote them) show in coverage's rollups once
// `jangkau store rollup-rebuild` ran, with its progress on stderr; bad
// flags exit 2 or 1 naming what is wrong.
func TestRollupRebuildCommand(t *testing.T) {
	needInflux(t)
	db := fmt.Sprintf("jangkau_rebuildcmd_%d", time.Now().UnixNano())
	influxQuery(t, fmt.Sprintf(`CREATE DATABASE %q WITH DURATION INF NAME "rp"`, db))
	t.Cleanup(func() { influxQuery(t, fmt.Sprintf("DROP DATABASE %q", db)) })
	base := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var lines strings.Builder
	for i := range 90 {
		fmt.Fprintf(&lines, "jangkau_result,carrier=tsel,check=portal,kind=http,probe=p,region=36.01.05,service=perizinan seq=%di,ok=true,duration_ms=12.5 %d\n",
			i+1, base.Add(time.Duration(i)*time.Minute).UnixNano())
	}
	req, _ := http.NewRequest(http.MethodPost, os.Getenv("JANGKAU_INFLUXDB_URL")+"/write?db="+db+"&rp=rp", strings.NewReader(lines.String()))
	req.Header.Set("Authorization", "Token "+os.Getenv("JANGKAU_INFLUXDB_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: HTTP %d %s", resp.StatusCode, b)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	write(t, cfg, storageYAML(os.Getenv("JANGKAU_INFLUXDB_URL"), os.Getenv("JANGKAU_INFLUXDB_TOKEN"), db+"/rp"))

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rollup-rebuild"}, 2, "Usage:"},
		{[]string{"rollup-rebuild", "--config", cfg, "--to", "tomorrow"}, 1, `--to "tomorrow": an RFC 3339 time`},
		{[]string{"rollup-rebuild", "--config", cfg, "--from", "2026-11-27T10:00:00Z", "--to", "2026-11-27T09:00:00Z"}, 1, "is not before"},
	} {
		var stderr bytes.Buffer
		if code := run(append([]string{"store"}, tc.args...), io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("jangkau store %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--to", "2026-11-27T09:30:00Z"}, []string{"2026-11-27T08:00Z done (1/2 hours): 60 minute points, 1 hour points\n",
			"2026-11-27T09:00Z done (2/2 hours): 30 minute points, 1 hour points\n"}},
		// Default: from the oldest raw point to now.
		{nil, []string{"rollup-rebuild: 2026-11-27T08:00:00Z to ", ": 90 minute points, 2 hour points\n"}},
	} {
		var stderr bytes.Buffer
		if code := run(append([]string{"store", "rollup-rebuild", "--config", cfg}, tc.args...), io.Discard, &stderr); code != 0 {
			t.Fatalf("rollup-rebuild %v: exit %d: %s", tc.args, code, stderr.String())
		}
		for _, want := range tc.want {
			if !strings.Contains(stderr.String(), want) {
				out := stderr.String()
				t.Errorf("rollup-rebuild %v: stderr ends %q, want %q", tc.args, out[max(0, len(out)-400):], want)
			}
		}
	}
}
