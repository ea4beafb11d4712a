package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// The big store of the open benchmarks: the coverage benchmark's shape
// (2,000 probes, five checks each, a day of results with their rollups),
// 6,500,000 results by default, 2.3 GB. It is built once into
// JANGKAU_BIGSTORE (default .cache/bigstore at the repository's root,
// gitignored) and rebuilt when JANGKAU_BIGSTORE_RESULTS changes.
type bigParams struct {
	Results, Probes int
}

func bigStore(b *testing.B) (string, bigParams) {
	b.Helper()
	p := bigParams{Results: 6_500_000, Probes: 2000}
	if v := os.Getenv("JANGKAU_BIGSTORE_RESULTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < p.Probes {
			b.Fatalf("JANGKAU_BIGSTORE_RESULTS=%q: want a number of results of at least %d", v, p.Probes)
		}
		p.Results = n
	}
	dir := os.Getenv("JANGKAU_BIGSTORE")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", ".cache", "bigstore")
	}
	marker := filepath.Join(dir, "bigstore.json")
	want, _ := json.Marshal(p)
	if have, err := os.ReadFile(marker); err == nil && string(have) == string(want) {
		return dir, p
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	st, err := Open(dir, NoSync())
	if err != nil {
		b.Fatal(err)
	}
	bigFill(b, st, p)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s: %d results in %s", dir, p.Results, time.Since(start).Round(time.Second))
	if err := os.WriteFile(marker, want, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, p
}

var bigChecks = []struct{ name, kind, service string }{
	{"gateway", wire.KindTCP, ""},
	{"anchor", wire.KindICMP, ""},
	{"resolver", wire.KindDNS, ""},
	{"perizinan", wire.KindHTTP, "perizinan"},
	{"dukcapil", wire.KindHTTP, "dukcapil"},
}

// bigFill writes p.Results results as live ingest brings them, in time
// order across probes, but 100,000 results (50 of each probe) per commit
// so that a 3 GB store builds in minutes: each commit rewrites the pages
// it touches, and a commit per batch rewrote the file many times over.
func bigFill(b *testing.B, st *Store, p bigParams) {
	perProbe := p.Results / p.Probes
	from := time.Now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
	step := 24 * time.Hour / time.Duration(perProbe)
	cells := make([]rollup.Cell, p.Probes)
	for i := range cells {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		cells[i] = rollup.Cell{Region: fmt.Sprintf("36.%02d.%02d.%04d", rng.IntN(8)+1, rng.IntN(30)+1, 2000+rng.IntN(30)),
			Tile: strconv.FormatUint(rng.Uint64()%(1<<45), 4), Carrier: []string{"telkomsel", "indosat", "xl", "smartfren"}[rng.IntN(4)],
			Probe: fmt.Sprintf("p%04d", i)}
	}
	const batch = 50
	start := time.Now()
	for first := 0; first < perProbe; first += batch {
		err := st.db.Update(func(tx *bolt.Tx) error {
			for probe := range p.Probes {
				if _, err := writeTx(tx, bigBatch(cells[probe], probe, first, min(batch, perProbe-first), from, step), time.Time{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if first*10/perProbe != (first+batch)*10/perProbe {
			fmt.Fprintf(os.Stderr, "big store: %d of %d results in %s\n", (first+batch)*p.Probes, p.Results, time.Since(start).Round(time.Second))
		}
	}
}

// bigBatch is n results of one probe from its seq first+1: the checks
// take turns, one every step.
func bigBatch(cell rollup.Cell, probe, first, n int, from time.Time, step time.Duration) store.Write {
	w := store.Write{Probe: cell.Probe, FirstSeq: uint64(first + 1), Results: make([]wire.Result, n), Cells: make([]rollup.Cell, n)}
	for i := range n {
		k := first + i
		c := bigChecks[k%len(bigChecks)]
		rng := rand.New(rand.NewPCG(uint64(probe), uint64(k)))
		ok := rng.Float64() < 0.97
		r := wire.Result{Seq: uint64(k + 1), Time: from.Add(time.Duration(k)*step + time.Duration(probe)*step/11),
			Check: c.name, Kind: c.kind, Target: "10.20.0.1", Service: c.service, OK: ok,
			DurationMS: 80 * math.Exp(0.5*rng.NormFloat64())}
		if !ok {
			r.DurationMS, r.ErrorClass = 5000, "timeout"
		}
		if c.kind == wire.KindICMP {
			r.Phases = map[string]float64{"loss": 0}
		}
		w.Results[i], w.Cells[i] = r, cell
		w.Cells[i].Kind, w.Cells[i].Service = c.kind, c.service
		if c.service == "" {
			w.Cells[i].Service = rollup.Uplink
		}
	}
	w.Received = w.Results[n-1].Time
	return w
}

// dropCache asks the kernel to forget the store file's pages, so that
// the next open reads them from the disk (posix_fadvise DONTNEED: only
// this file, clean pages only, no root needed).
func dropCache(b *testing.B, dir string) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

// crashClose leaves the files as a kill -9 after the last commit would:
// no last commit with the freelist, no clean record in the sidecar.
func crashClose(b *testing.B, st *Store) {
	if err := st.known.Close(st.db); err != nil {
		b.Fatal(err)
	}
	if err := st.db.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenBigStore times Open of the big store after a clean Close
// and after a crash, with the file in the page cache and not. It
// reports the median wall time of an open, the CPU time per open, and
// the median time of the close before it (clean, or as a crash leaves
// the files).
//
//	go test ./collector/store/embedded -run X -bench OpenBigStore -benchtime 5x -timeout 2h -v
func BenchmarkOpenBigStore(b *testing.B) {
	dir, _ := bigStore(b)
	b.Logf("%s: %.2f GB", filepath.Join(dir, FileName), float64(fileSize(b, dir))/1e9)
	for _, tc := range []struct {
		name        string
		crash, cold bool
	}{
		{"clean", false, false},
		{"clean, not cached", false, true},
		{"crash", true, false},
		{"crash, not cached", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var walls, closes []float64
			cpu := cpuPerOp(b)
			b.StopTimer()
			for range b.N {
				st, err := Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if tc.crash {
					crashClose(b, st)
				} else if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				closes = append(closes, float64(time.Since(t0))/1e6)
				if tc.cold {
					dropCache(b, dir)
				}
				b.StartTimer()
				t0 = time.Now()
				st, err = Open(dir)
				walls = append(walls, float64(time.Since(t0))/1e6)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				op := st.known.Opened()
				b.Logf("open %.0f ms: walked %v, %d pages read (%s)", walls[len(walls)-1], op.Walked, op.Pages, op.Why)
				if op.Walked != tc.crash {
					b.Fatalf("walked %v after %s", op.Walked, tc.name)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
			}
			cpu()
			slices.Sort(walls)
			slices.Sort(closes)
			b.ReportMetric(walls[len(walls)/2], "median-ms/open")
			b.ReportMetric(closes[len(closes)/2], "median-ms/close-before")
		})
	}
}

func fileSize(b *testing.B, dir string) int64 {
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkWriteBigStore times one probe's fsynced writes of 100
// results into the big store, opened after a clean Close and after a
// crash (the write path of before this change), and, for contrast,
// with bbolt writing its freelist at every commit.
//
//	go test ./collector/store/embedded -run X -bench WriteBigStore -benchtime 200x -count 5 -timeout 2h
func BenchmarkWriteBigStore(b *testing.B) {
	dir, _ := bigStore(b)
	for _, tc := range []struct {
		name                  string
		crash, freelistSynced bool
	}{
		{"after a clean open", false, false},
		{"after a crash", true, false},
		{"freelist written at each commit", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			if tc.crash {
				crashClose(b, st)
				if st, err = Open(dir); err != nil {
					b.Fatal(err)
				}
			}
			st.db.NoFreelistSync = !tc.freelistSynced
			var seq uint64
			probes, err := st.Probes(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range probes {
				if p.ID == "writer" {
					seq = p.LastSeq
				}
			}
			at := time.Now().UTC().Add(-time.Hour)
			b.ResetTimer()
			for range b.N {
				rs := make([]wire.Result, 100)
				for i := range rs {
					seq++
					rs[i] = wire.Result{Seq: seq, Time: at.Add(time.Duration(i) * time.Millisecond), Check: "gateway", Kind: wire.KindTCP,
						Target: "10.20.0.1", OK: true, DurationMS: float64(seq % 97)}
				}
				if _, err := st.Write(context.Background(), store.Write{Probe: "writer", Results: rs, Received: at}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st.db.NoFreelistSync = true
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
