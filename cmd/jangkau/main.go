// Command jangkau is the probe, the collector and the demo in one binary.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/demo"
	"github.com/jangkau/jangkau/lab"
	"github.com/jangkau/jangkau/probe"
)

const usage = `jangkau: regional connectivity and service-coverage monitor

Usage:
  jangkau demo      [--listen ADDR] [--data DIR]   everything on one machine, simulated districts
  jangkau collector --config FILE [--listen ADDR] [--data DIR] [--regions FILE]
  jangkau probe     --config FILE
  jangkau check     --config FILE [--json]        run every check of a probe once and print the results
  jangkau token                                     a new random token and its token_sha256 line
  jangkau partner-key NAME                          a new partner API key and its partners: entry
  jangkau lab       --scenario FILE --regions FILE --report DIR   a province in network namespaces (Linux, root)

Run "jangkau COMMAND -h" for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("jangkau "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var err error
	switch cmd {
	case "collector":
		configFile := fs.String("config", "", "collector config `file` (YAML)")
		listen := fs.String("listen", "", "listen `address`, overrides the config's listen")
		data := fs.String("data", "", "data `dir`, overrides data_dir")
		regions := fs.String("regions", "", "boundaries `file` (GeoJSON), overrides regions.file")
		if fs.Parse(args) != nil {
			return 2
		}
		log := newLogger(stderr, *logLevel)
		cfg, lerr := loadCollectorConfig(*configFile)
		if lerr != nil {
			err = lerr
			break
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
			err = collector.Run(ctx, cfg, log)
		}
	case "probe":
		configFile := fs.String("config", "", "probe config `file` (YAML)")
		if fs.Parse(args) != nil {
			return 2
		}
		if *configFile == "" {
			err = errors.New("--config is required")
			break
		}
		log := newLogger(stderr, *logLevel)
		cfg, lerr := probe.LoadConfig(*configFile)
		if lerr != nil {
			err = lerr
			break
		}
		err = runProbe(ctx, cfg, log)
	case "check":
		configFile := fs.String("config", "", "probe config `file` (YAML)")
		asJSON := fs.Bool("json", false, "print the results as JSON, one per line")
		if fs.Parse(args) != nil {
			return 2
		}
		if *configFile == "" {
			err = errors.New("--config is required")
			break
		}
		cfg, lerr := probe.LoadConfig(*configFile)
		if lerr != nil {
			err = lerr
			break
		}
		failed, cerr := probe.CheckOnce(ctx, cfg, newLogger(stderr, *logLevel), stdout, *asJSON)
		if cerr != nil {
			err = cerr
			break
		}
		if failed > 0 {
			fmt.Fprintf(stderr, "jangkau check: %d of %d checks failed\n", failed, len(cfg.Checks))
			return 1
		}
	case "demo":
		listen := fs.String("listen", "127.0.0.1:8080", "listen `address` of the collector (a free port is taken if it is busy)")
		data := fs.String("data", "", "keep the data in `dir` (default: a temporary folder removed on exit)")
		if fs.Parse(args) != nil {
			return 2
		}
		log := newLogger(stderr, *logLevel)
		err = demo.Run(ctx, demo.Options{Listen: *listen, DataDir: *data, Log: log, Out: stdout})
	case "lab":
		scenario := fs.String("scenario", "lab/scenarios/ci.yaml", "scenario `file`")
		regions := fs.String("regions", "", "boundaries `file` (GeoJSON)")
		report := fs.String("report", "lab-report", "report `dir`")
		if fs.Parse(args) != nil {
			return 2
		}
		bin, _ := os.Executable()
		err = lab.Run(ctx, lab.Options{Scenario: *scenario, Regions: *regions, Report: *report, Bin: bin,
			Log: newLogger(stderr, *logLevel), Out: stdout})
	case "partner-key":
		if fs.Parse(args) != nil {
			return 2
		}
		if fs.NArg() != 1 {
			err = errors.New("usage: jangkau partner-key NAME")
			break
		}
		key := newSecret()
		sum := sha256.Sum256([]byte(key))
		fmt.Fprintf(stdout, partnerKeyTemplate, key, fs.Arg(0), hex.EncodeToString(sum[:]))
	case "token":
		if fs.Parse(args) != nil {
			return 2
		}
		tok := newSecret()
		sum := sha256.Sum256([]byte(tok))
		fmt.Fprintf(stdout, "token:        %s\ntoken_sha256: %q\n", tok, hex.EncodeToString(sum[:]))
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jangkau: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "jangkau %s: %v\n", cmd, err)
		return 1
	}
	return 0
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

// newSecret is a random token or key: 192 bits, hex.
func newSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func loadCollectorConfig(path string) (*collector.Config, error) {
	if path == "" {
		cfg := collector.DefaultConfig
		return &cfg, nil
	}
	return collector.LoadConfig(path)
}

func runProbe(ctx context.Context, cfg *probe.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := probe.New(cfg, log, reg)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
