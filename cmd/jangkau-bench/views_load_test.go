package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// spreadInto runs spread with a recording sink per store and returns
// what each got, by probe, in the order it got it.
func spreadInto(t *testing.T, d *viewsData, lanes, size, stores int, failAt int) ([]map[int][]loadBatch, error) {
	t.Helper()
	got := make([]map[int][]loadBatch, stores)
	var mu sync.Mutex
	finished := make([]int, stores)
	sinks := make([]loadSink, stores)
	posts := 0
	for k := range sinks {
		got[k] = map[int][]loadBatch{}
		sinks[k] = loadSink{
			post: func(lb loadBatch) error {
				mu.Lock()
				defer mu.Unlock()
				if posts++; posts == failAt {
					return fmt.Errorf("store %d refuses batch %d", k, posts)
				}
				got[k][lb.probe] = append(got[k][lb.probe], lb)
				return nil
			},
			finished: func() { mu.Lock(); finished[k]++; mu.Unlock() },
		}
	}
	done := make(chan error, 1)
	go func() { done <- d.spread(context.Background(), lanes, size, sinks...) }()
	select {
	case err := <-done:
		for k, n := range finished {
			if n != 1 {
				t.Errorf("store %d: finished called %d times, want once", k, n)
			}
		}
		return got, err
	case <-time.After(time.Minute):
		t.Fatal("spread did not return within a minute")
		return nil, nil
	}
}

func TestSpreadEveryBatchOnceInOrder(t *testing.T) {
	rs, _ := testDesa(t)
	d, err := newViewsData(rs, 10, 10*30, 17, time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := spreadInto(t, d, 3, 7, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	for k := range got {
		if len(got[k]) != len(d.probes) {
			t.Errorf("store %d got batches of %d probes, want all %d", k, len(got[k]), len(d.probes))
		}
		for p, bs := range got[k] {
			var seq uint64 = 1
			for _, lb := range bs {
				if lb.first != seq {
					t.Fatalf("store %d probe %d: a batch from seq %d after seq %d (each once, in order)", k, p, lb.first, seq-1)
				}
				seq += uint64(lb.n)
			}
			if int(seq-1) != d.perProbe {
				t.Errorf("store %d probe %d: %d results, want %d", k, p, seq-1, d.perProbe)
			}
		}
	}
	// The stores get the same bodies: one batch, made once.
	for p := range got[0] {
		for i := range got[0][p] {
			if !bytes.Equal(got[0][p][i].body, got[1][p][i].body) {
				t.Fatalf("probe %d batch %d: the two stores got different bodies", p, i)
			}
		}
	}
}

func TestSpreadStopsAtTheFirstError(t *testing.T) {
	rs, _ := testDesa(t)
	d, err := newViewsData(rs, 10, 10*300, 17, time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := spreadInto(t, d, 4, 5, 2, 20)
	if err == nil || !strings.Contains(err.Error(), "refuses batch 20") {
		t.Fatalf("spread returned %v, want the sink's error", err)
	}
	n := 0
	for k := range got {
		for _, bs := range got[k] {
			n += len(bs)
		}
	}
	if all := 2 * len(d.probes) * (d.perProbe / 5); n >= all-1 {
		t.Errorf("%d of %d batches posted after the 20th failed: the load went on", n, all)
	}
}

func TestReuseAnotherBuildOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	p := viewsParams{Regions: "/geo/desa.geojson", RegionsSize: 10, Results: 1000, Probes: 10, Window: 24 * time.Hour, Seed: 17,
		Rev: "older", CollectorID: true, Anchor: time.Now().Add(-2 * time.Hour)}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "views.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		edit     func(*viewsBench)
		reusable bool
	}{
		{"the same build", func(b *viewsBench) { b.params.Rev = "older" }, true},
		{"a newer build", func(*viewsBench) {}, false},
		{"a newer build, -any-build", func(b *viewsBench) { b.o.anyBuild = true }, true},
		{"-any-build, other results", func(b *viewsBench) { b.o.anyBuild = true; b.params.Results = 2000 }, false},
		{"-any-build, loaded longer ago than -reuse", func(b *viewsBench) { b.o.anyBuild = true; b.o.reuse = time.Hour }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &viewsBench{o: viewsOpts{data: dir, reuse: 3 * time.Hour}, params: p}
			b.params.Rev, b.params.Anchor = "newer", time.Time{}
			tc.edit(b)
			if got := b.reusable(); got != tc.reusable {
				t.Errorf("reusable %v, want %v", got, tc.reusable)
			}
			if tc.reusable && !b.params.Anchor.Equal(p.Anchor) {
				t.Errorf("a reused store's anchor %s, want the load's %s", b.params.Anchor, p.Anchor)
			}
		})
	}
}

func TestParseReload(t *testing.T) {
	cases := []struct {
		in   string
		want loadWhich
		bad  bool
	}{
		{"", loadWhich{}, false},
		{"influxdb", loadWhich{influx: true}, false},
		{"embedded, influxdb", loadWhich{embedded: true, influx: true}, false},
		{"postgis", loadWhich{}, true},
		{"influx", loadWhich{}, true},
	}
	for _, tc := range cases {
		got, err := parseReload(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("parseReload(%q) = %+v, %v; want %+v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
		if tc.bad && err != nil && !strings.Contains(err.Error(), tc.in) {
			t.Errorf("parseReload(%q): the error does not name the value: %v", tc.in, err)
		}
	}
	w := loadWhich{influx: true}
	for name, want := range map[string]bool{"embedded": false, "influx-a": true, "influx-b": true, "influxdb (a+b)": true, "postgis COPY": false} {
		if w.has(name) != want {
			t.Errorf("a reload of influxdb has %q: %v, want %v", name, !want, want)
		}
	}
}

func TestInWindow(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		age  time.Duration
		want int
	}{{-time.Minute, 10_000_000}, {0, 10_000_000}, {6 * time.Hour, 7_500_000}, {day, 0}, {2 * day, 0}} {
		if got := inWindow(10_000_000, tc.age, day); got != tc.want {
			t.Errorf("10 M results that ended %s ago: %d in the window, want %d", tc.age, got, tc.want)
		}
	}
}
