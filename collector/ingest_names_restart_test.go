package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/collector/store/influx"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// A collector that restarts folds the same names as before it stopped:
// the names a probe was let introduce are in the store. A batch folded
// to "other" and resent after the restart is stored once, and the same
// names sent next are stored as they were before (not under their own
// names, which would make series past the bound), on both stores.
func TestFoldedNamesSurviveRestart(t *testing.T) {
	for _, kind := range []string{"embedded", "influxdb"} {
		t.Run(kind, func(t *testing.T) {
			open := reopenableStore(t, kind)
			cfg := DefaultConfig
			cfg.Probes = []ProbeConfig{{ID: "west", TokenSHA256: hash("tok-west"), Region: "99.01.01"}}
			cfg.Limits.MaxUnknownNamesPerProbe = 2
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			regions := fixtureRegions(t)
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			start := func() (*fixture, func()) {
				st := open()
				f := &fixture{t: t, now: now}
				srv, err := NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				f.srv, f.http = srv, httptest.NewServer(srv.Handler())
				return f, func() { f.http.Close(); st.Close() }
			}
			batch := func(first uint64, checks ...string) []byte {
				res := results(first, len(checks), now.Add(-time.Duration(10-first)*time.Minute), true, 10)
				for i := range res {
					res[i].Check, res[i].Service = checks[i], "svc-"+checks[i]
				}
				return gz(t, wire.Batch{Probe: "west", Results: res})
			}
			post := func(f *fixture, body []byte, stored, dups int) {
				t.Helper()
				if code, ir, raw := f.post("tok-west", body); code != 200 || ir.Stored != stored || ir.Duplicates != dups {
					t.Fatalf("ingest: %d %s, want 200 with %d stored and %d duplicates", code, raw, stored, dups)
				}
			}

			f, stop := start()
			post(f, batch(1, "a", "b"), 2, 0)
			folded := batch(3, "c", "d") // past the bound of 2: stored as other
			post(f, folded, 2, 0)
			stop()

			f, stop = start()
			defer stop()
			post(f, folded, 0, 2) // its answer was lost: the probe resends it
			post(f, batch(5, "c", "d", "a", "e"), 4, 0)

			want := map[uint64]string{1: "a", 2: "b", 3: OtherName, 4: OtherName, 5: OtherName, 6: OtherName, 7: "a", 8: OtherName}
			got := map[uint64][]string{}
			err := f.srv.ScanResults(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), func(r store.Record) error {
				got[r.Seq] = append(got[r.Seq], r.Check+"/"+r.Service)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("seqs stored: %v, want %d", got, len(want))
			}
			for seq, name := range want {
				wantName := name + "/svc-" + name
				if name == OtherName {
					wantName = OtherName + "/" + OtherName
				}
				if g := got[seq]; len(g) != 1 || g[0] != wantName {
					t.Errorf("seq %d stored as %q, want once as %s", seq, g, wantName)
				}
			}
		})
	}
}

// reopenableStore returns a function that opens the same store each
// time it is called: a data dir, or an InfluxDB database of the test's
// own (scripts/influxdb.sh; skipped without one, outside CI).
func reopenableStore(t *testing.T, kind string) func() store.Store {
	t.Helper()
	if kind == "embedded" {
		dir := t.TempDir()
		return func() store.Store {
			st, err := embedded.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	u, token, bucket := os.Getenv("JANGKAU_INFLUXDB_URL"), os.Getenv("JANGKAU_INFLUXDB_TOKEN"), os.Getenv("JANGKAU_INFLUXDB_BUCKET")
	if u == "" || bucket == "" {
		testenv.Missing(t, "%s", `no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" to set JANGKAU_INFLUXDB_URL, _TOKEN and _BUCKET`)
	}
	db := fmt.Sprintf("jangkau_collector_test_%d", time.Now().UnixNano())
	influxQuery(t, u, token, fmt.Sprintf(`CREATE DATABASE %q WITH DURATION INF NAME "rp"`, db))
	t.Cleanup(func() { influxQuery(t, u, token, fmt.Sprintf("DROP DATABASE %q", db)) })
	return func() store.Store {
		st, err := influx.Open(context.Background(), influx.Config{URL: u, Token: token, Bucket: db + "/rp"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

func influxQuery(t *testing.T, base, token, q string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("InfluxDB %q: %s", q, resp.Status)
	}
}
