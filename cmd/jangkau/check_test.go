//go:build !probeonly

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store"
)

// startCollector runs a real collector in this process on a free
// loopback port, with one probe "pdg-01" whose token is token, until the
// test ends.
func startCollector(t *testing.T, token string) (addr string) {
	t.Helper()
	dir := t.TempDir()
	addr = freeAddr(t)
	write(t, filepath.Join(dir, "regions.geojson"), twoKecamatan)
	write(t, filepath.Join(dir, "collector.yaml"), fmt.Sprintf("listen: %s\ndata_dir: ./data\nregions: {file: regions.geojson}\nprobes:\n  - {id: pdg-01, token_sha256: %q, region: \"99.01.01\"}\n", addr, sum(token)))
	cfg, err := collector.LoadConfig(filepath.Join(dir, "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.DiscardHandler)
	go func() {
		done <- collector.Run(ctx, cfg, log, func(ctx context.Context) (store.Store, error) { return openStore(ctx, cfg, log) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitListening(t, addr, done, 3*time.Minute)
	return addr
}

// TestCheckAsksTheCollector: `jangkau check` ends with a collector row
// and exits 1 when the collector cannot be reached, is spoken to in the
// wrong scheme, or refuses the token; it used to exit 0 in all of these
// without contacting the collector.
func TestCheckAsksTheCollector(t *testing.T) {
	const token = "4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344"
	addr := startCollector(t, token)
	dead := freeAddr(t)
	for _, tc := range []struct {
		name, collector, token string
		wantCode               int
		want                   []string
	}{
		{"all good", "http://" + addr, token, 0, []string{"COLLECTOR  http://" + addr + "  ok", "reachable, plain http, token accepted"}},
		{"wrong token", "http://" + addr, "not-the-token", 1, []string{"FAIL", "token refused", "401"}},
		{"nothing listening", "http://" + dead, token, 1, []string{"FAIL", "not reachable", "connection refused"}},
		{"https against the http port", "https://" + addr, token, 1, []string{"FAIL", "is https but the port speaks plain http: write http://"}},
		{"wrong path", "http://" + addr + "/jangkau", token, 1, []string{"FAIL", "404", "no jangkau collector"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "token"), tc.token+"\n")
			write(t, filepath.Join(dir, "probe.yaml"), fmt.Sprintf("id: pdg-01\ncollector: %s\ntoken_file: token\nchecks:\n  - {name: self, kind: tcp, target: %q, timeout: 2s}\n", tc.collector, addr))
			var out, errb bytes.Buffer
			code := run([]string{"check", "--config", filepath.Join(dir, "probe.yaml")}, &out, &errb)
			t.Logf("stdout:\n%sstderr:\n%s", out.String(), errb.String())
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(out.String(), "self ") {
				t.Error("the checks' table is missing")
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			if strings.Contains(out.String()+errb.String(), token) {
				t.Error("the token was printed")
			}
		})
	}
}

// waitListening waits until something accepts connections on addr: the
// collector that Run started in this process (done is Run's result). The
// limit is generous: regions load slowly under -race on a loaded CI
// machine. A collector that stops first fails the test at once, and its
// result goes back into done for the test's cleanup to read.
func waitListening(t *testing.T, addr string, done chan error, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("collector stopped before listening on %s: %v", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector not listening on %s within %s", addr, limit)
		}
	}
}
