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
	"github.com/prometheus/common/version"

	"github.com/jangkau/jangkau/probe"
)

// usage lists the commands of this build: a probe-only build
// (-tags probeonly) has no collector, demo, partner-key or lab.
var usage = `jangkau: regional connectivity and service-coverage monitor

Usage:
` + serverUsage + `  jangkau probe     --config FILE
  jangkau check     --config FILE [--json] [--offline]   run every check once, then ask the collector (reachable, TLS, token)
  jangkau token     [--out FILE] [--viewer]         a new random token and its token_sha256 line (--out: the token alone into FILE)
  jangkau version                                   version, revision, Go version and build tags
  jangkau spool check|salvage (--dir DIR | --config FILE)   report a damaged probe spool; copy what is readable
  jangkau store check|salvage (--data DIR | --config FILE)  the same for the collector's store (not in a probe-only build)
  jangkau store rollup-rebuild --config FILE [--from T --to T]  recompute InfluxDB rollups from raw points (results stored before rollups)
` + serviceUsage + serverUsageTail + `
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
		offline := fs.Bool("offline", false, "skip the last row: asking the collector whether it is reachable, verified over TLS and accepts the token")
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
		collectorOK := true
		if !*offline {
			st := probe.CheckCollector(ctx, cfg)
			collectorOK = st.OK
			if werr := probe.WriteCollectorStatus(stdout, st, *asJSON); werr != nil {
				err = werr
				break
			}
		}
		if failed > 0 {
			fmt.Fprintf(stderr, "jangkau check: %d of %d checks failed\n", failed, len(cfg.Checks))
		}
		if !collectorOK {
			fmt.Fprintf(stderr, "jangkau check: the collector check failed: this probe's results would not arrive\n")
		}
		if failed > 0 || !collectorOK {
			return 1
		}
	case "token":
		out := fs.String("out", "", "write the token alone to `file` (mode 0600, not overwritten) and print only the hash line to paste")
		viewer := fs.Bool("viewer", false, "print the hash as a viewers: entry's key_sha256 instead of a probe's token_sha256")
		if fs.Parse(args) != nil {
			return 2
		}
		err = runToken(stdout, stderr, *out, *viewer)
	case "version", "--version":
		if fs.Parse(args) != nil {
			return 2
		}
		fmt.Fprintln(stdout, version.Print("jangkau"))
	case "service": // the probe as a Windows service: service.go
		err = runServiceCommand(ctx, args, stdout, stderr)
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

// runToken makes a token. With out, the token goes alone into that file,
// which must not exist yet, and stdout gets only the line to paste into
// collector.yaml; without, stdout gets both, labelled.
func runToken(stdout, stderr io.Writer, out string, viewer bool) error {
	tok := newSecret()
	sum := sha256.Sum256([]byte(tok))
	key := "token_sha256"
	if viewer {
		key = "key_sha256"
	}
	if out == "" {
		_, err := fmt.Fprintf(stdout, "token:        %s\n%-13s %q\n", tok, key+":", hex.EncodeToString(sum[:]))
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--out %s already exists; a token file is never overwritten: remove it or choose another name", out)
		}
		return fmt.Errorf("--out: %w", err)
	}
	if _, err := fmt.Fprintln(f, tok); err != nil {
		f.Close()
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	where := "a probe's entry under probes:"
	if viewer {
		where = "a viewer's entry under viewers:"
	}
	fmt.Fprintf(stderr, "jangkau token: wrote the token alone to %s (mode 0600); paste this line into %s in collector.yaml:\n", out, where)
	_, err = fmt.Fprintf(stdout, "%s: %q\n", key, hex.EncodeToString(sum[:]))
	return err
}

// newSecret is a random token or key: 192 bits, hex.
func newSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
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
