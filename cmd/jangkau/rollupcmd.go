//go:build !probeonly

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jangkau/jangkau/collector/store/influx"
)

const rollupRebuildUsage = `Usage:
  jangkau store rollup-rebuild --config FILE [--from TIME] [--to TIME]
      recompute the InfluxDB store's rollup points from its raw points over
      [from, to) (RFC 3339 times; default: from the oldest raw point to now),
      for results written before the store kept rollups; progress on stderr.
      Safe while collectors run.
`

// runRollupRebuild runs `jangkau store rollup-rebuild` and returns the exit
// code.
func runRollupRebuild(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("jangkau store rollup-rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rollupRebuildUsage) }
	config := fs.String("config", "", "the collector's config `file` (storage.kind: influxdb)")
	fromS := fs.String("from", "", "start `time` (RFC 3339; default: the oldest raw point)")
	toS := fs.String("to", "", "end `time` (RFC 3339, excluded; default: now)")
	if fs.Parse(args) != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "jangkau store rollup-rebuild: "+format+"\n", a...)
		return 1
	}
	if *config == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, err := loadCollectorConfig(*config)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.Storage.Kind != "influxdb" {
		return fail("%s: storage.kind is %q: only the InfluxDB store needs rebuilding (the embedded one writes its rollups with its results)", *config, cfg.Storage.Kind)
	}
	// Errors only: opening warns of the missing rollups this rebuilds.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	ix := st.(*influx.Store)
	parse := func(name, v string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return t, fmt.Errorf("--%s %q: an RFC 3339 time such as 2026-11-27T08:00:00Z", name, v)
		}
		return t, nil
	}
	to := time.Now()
	if *toS != "" {
		if to, err = parse("to", *toS); err != nil {
			return fail("%v", err)
		}
	}
	var from time.Time
	if *fromS != "" {
		if from, err = parse("from", *fromS); err != nil {
			return fail("%v", err)
		}
	} else {
		oldest, ok, err := ix.OldestResult(ctx)
		if err != nil {
			return fail("finding the oldest raw point: %v", err)
		}
		if !ok {
			fmt.Fprintln(stderr, "jangkau store rollup-rebuild: no raw points: nothing to do")
			return 0
		}
		from = oldest
	}
	if !from.Before(to) {
		return fail("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	start := time.Now()
	minutes, hours := 0, 0
	err = ix.RebuildRollups(ctx, from, to, func(p influx.RebuildProgress) {
		minutes, hours = minutes+p.MinutePoints, hours+p.HourPoints
		fmt.Fprintf(stderr, "rollup-rebuild: %s done (%d/%d hours): %d minute points, %d hour points\n",
			p.Hour.UTC().Format("2006-01-02T15:04Z"), p.Done, p.Hours, p.MinutePoints, p.HourPoints)
	})
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stderr, "rollup-rebuild: %s to %s rebuilt in %s: %d minute points, %d hour points\n",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), time.Since(start).Round(time.Millisecond), minutes, hours)
	return 0
}
