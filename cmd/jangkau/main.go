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
	"runtime/debug"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/version"

	"github.com/jangkau/jangkau/probe"
)

// usage lists the commands of this build: a probe-only build
// (-tags probeonly) has no collector, demo, partner-key or lab.
var usage = `jangkau: regional connectivity and service-coverage monitor

Usage:
` + serverUsage + `  jangkau probe     --config FILE
  jangkau check     --config FILE [--json]        run every check of a probe once and print the results
  jangkau token                                     a new random token and its token_sha256 line
  jangkau version                                   version, revision, Go version and build tags
` + serverUsageTail + `
Run "jangkau COMMAND -h" for a command's flags.
`

// errUsage is a command line that flag has already complained about.
var errUsage = errors.New("usage")

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	stampVersion()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("jangkau "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var err error
	switch cmd {
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
	case "token":
		if fs.Parse(args) != nil {
			return 2
		}
		tok := newSecret()
		sum := sha256.Sum256([]byte(tok))
		fmt.Fprintf(stdout, "token:        %s\ntoken_sha256: %q\n", tok, hex.EncodeToString(sum[:]))
	case "version", "--version":
		if fs.Parse(args) != nil {
			return 2
		}
		fmt.Fprintln(stdout, version.Print("jangkau"))
	case "store", "spool": // check and salvage a bbolt file: storecmd.go
		return runFileCommand(cmd, args, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		var known bool
		if known, err = runServerCommand(ctx, cmd, fs, args, stdout, stderr, logLevel); !known {
			fmt.Fprintf(stderr, "jangkau: unknown command %q\n\n%s", cmd, usage)
			return 2
		}
		if errors.Is(err, errUsage) {
			return 2
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "jangkau %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// newSecret is a random token or key: 192 bits, hex.
func newSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// probeMemoryLimit is the probe's soft memory limit (GOMEMLIMIT) unless
// the environment sets one: 12 MiB and 4 KiB per check. A probe's live
// heap is small (about 3 MiB with 500 checks) and most of what it
// allocates is short-lived, so with no limit the heap floated to twice
// its live size and kept idle pages. With the limit the runtime returns
// them and collects a little sooner; GOGC stays 100, so a probe under
// the limit collects no more often than before (docs/benchmarks.md has
// the measurements). It is soft: a probe that needs more gets more, the collector only runs
// more often (at most half the CPU, the runtime's own cap).
func probeMemoryLimit(checks int) int64 {
	return 12<<20 + int64(checks)*4<<10
}

func runProbe(ctx context.Context, cfg *probe.Config, log *slog.Logger) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(probeMemoryLimit(len(cfg.Checks)))
	}
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
