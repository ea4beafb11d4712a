//go:build !probeonly

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/demo"
	"github.com/jangkau/jangkau/lab"
)

// serverUsage lists the commands of the full build.
const serverUsage = `  jangkau demo      [--listen ADDR] [--data DIR]   everything on one machine, simulated districts
  jangkau collector --config FILE [--listen ADDR] [--data DIR] [--regions FILE]
`

const serverUsageTail = `  jangkau report    --config FILE --period YYYY-MM [--lang id|en] [--out DIR]   the month's report, HTML and PDF
  jangkau partner-key NAME                          a new partner API key and its partners: entry
  jangkau evidence import --collector URL --key-file FILE --id ID --kind KIND --source S --licence L --date YYYY-MM-DD FILE
  jangkau evidence layers --collector URL --key-file FILE   import an evidence file (Ookla, Podes, speed tests); list the layers
  jangkau lab       --scenario FILE --regions FILE --report DIR   a province in network namespaces (Linux, root)
`

// runServerCommand runs the commands a probe-only build leaves out;
// known is false for a command it does not have.
func runServerCommand(ctx context.Context, cmd string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer, logLevel *string) (known bool, err error) {
	switch cmd {
	case "collector":
		configFile := fs.String("config", "", "collector config `file` (YAML)")
		listen := fs.String("listen", "", "listen `address`, overrides the config's listen")
		data := fs.String("data", "", "data `dir`, overrides data_dir")
		regions := fs.String("regions", "", "boundaries `file` (GeoJSON), overrides regions.file")
		if fs.Parse(args) != nil {
			return true, errUsage
		}
		log := newLogger(stderr, *logLevel)
		cfg, lerr := loadCollectorConfig(*configFile)
		if lerr != nil {
			return true, lerr
		}
		if *listen != "" {
			cfg.Listen = *listen
		}
		if *data != "" {
			cfg.DataDir = *data
		}
		if *regions != "" {
			cfg.Regions.File = *regions
		}
		if err = cfg.Validate(); err == nil {
			err = collector.Run(ctx, cfg, log, func(ctx context.Context) (store.Store, error) {
				return openStore(ctx, cfg, log)
			})
		}
	case "demo":
		listen := fs.String("listen", "127.0.0.1:8080", "listen `address` of the collector (a free port is taken if it is busy)")
		data := fs.String("data", "", "keep the data in `dir` (default: a temporary folder removed on exit)")
		if fs.Parse(args) != nil {
			return true, errUsage
		}
		log := newLogger(stderr, *logLevel)
		err = demo.Run(ctx, demo.Options{Listen: *listen, DataDir: *data, Log: log, Out: stdout})
	case "lab":
		scenario := fs.String("scenario", "lab/scenarios/ci.yaml", "scenario `file`")
		regions := fs.String("regions", "", "boundaries `file` (GeoJSON)")
		report := fs.String("report", "lab-report", "report `dir`")
		if fs.Parse(args) != nil {
			return true, errUsage
		}
		bin, _ := os.Executable()
		err = lab.Run(ctx, lab.Options{Scenario: *scenario, Regions: *regions, Report: *report, Bin: bin,
			Log: newLogger(stderr, *logLevel), Out: stdout})
	case "evidence": // evidence.go
		err = runEvidence(ctx, args, stdout, stderr)
	case "report": // report.go
		err = runReport(ctx, fs, args, stdout, stderr, logLevel)
	case "partner-key":
		if fs.Parse(args) != nil {
			return true, errUsage
		}
		if fs.NArg() != 1 {
			err = errors.New("usage: jangkau partner-key NAME")
			return true, err
		}
		key := newSecret()
		sum := sha256.Sum256([]byte(key))
		fmt.Fprintf(stdout, partnerKeyTemplate, key, fs.Arg(0), hex.EncodeToString(sum[:]))
	default:
		return false, nil
	}
	return true, err
}

// partnerKeyTemplate prints a new key and the collector's entry for it.
const partnerKeyTemplate = `key: %s

partners:
  - name: %s
    key_sha256: %q
    carriers: []   # empty: every carrier
    regions: []    # code prefixes; empty: every region
    raw: false     # may read raw results
`

func loadCollectorConfig(path string) (*collector.Config, error) {
	if path == "" {
		cfg := collector.DefaultConfig
		return &cfg, nil
	}
	return collector.LoadConfig(path)
}
