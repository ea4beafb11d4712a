//go:build !probeonly

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/report"
	bolterrors "go.etcd.io/bbolt/errors"
)

// runReport is `jangkau report`: the month's HTML report and its PDF,
// read from the store the collector's config names.
func runReport(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer, logLevel *string) error {
	configFile := fs.String("config", "", "collector config `file` (YAML)")
	data := fs.String("data", "", "data `dir`, overrides data_dir")
	regions := fs.String("regions", "", "boundaries `file` (GeoJSON), overrides regions.file")
	period := fs.String("period", "", "the `month` to report, YYYY-MM")
	lang := fs.String("lang", "id", "language: id or en")
	out := fs.String("out", ".", "`dir` to write the HTML and PDF into")
	if fs.Parse(args) != nil {
		return errUsage
	}
	if *lang != "id" && *lang != "en" {
		return fmt.Errorf("--lang %q: write id (Bahasa Indonesia) or en", *lang)
	}
	log := newLogger(stderr, *logLevel)
	cfg, err := loadCollectorConfig(*configFile)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if *regions != "" {
		cfg.Regions.File = *regions
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	loc, err := cfg.Page.Location()
	if err != nil {
		return err
	}
	p, err := report.ParsePeriod(*period, loc)
	if err != nil {
		return fmt.Errorf("--period: %w", err)
	}
	rs, err := collector.LoadRegions(cfg, log)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w; while it runs, fetch the report from it instead: GET /report?period=%s&lang=%s", err, p, *lang)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := collector.NewServer(cfg, st, rs, log, collector.Options{})
	if err != nil {
		return err
	}
	htmlPath, pdfPath, err := report.WriteFiles(ctx, srv, p, *lang, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n%s\n", htmlPath, pdfPath)
	return nil
}
