// Package lab is `jangkau lab`: a small province in network namespaces,
// with impaired district links, that proves the map tells the truth.
//
// The lab runs the real binary everywhere: the collector in a core
// namespace, one probe per district namespace, and its own helpers (the
// e-service targets, the delay relay on the router, the API proxies) as
// roles of `jangkau lab` itself, chosen by the JANGKAU_LAB_ROLE environment
// variable. So main needs no extra wiring and the lab needs no second
// binary. The scenario format is described in lab/README.md.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// Options of a lab run.
type Options struct {
	Scenario string // scenario file (YAML)
	Regions  string // boundary file
	Report   string // report folder
	Bin      string // the jangkau binary the lab runs in the namespaces
	Log      *slog.Logger
	Out      io.Writer // progress
}

// The environment that turns `jangkau lab` into one of the lab's helpers.
const (
	envRole   = "JANGKAU_LAB_ROLE"
	envConfig = "JANGKAU_LAB_ROLE_CONFIG"
)

// ErrAssertions is returned when the lab ran but an assertion failed.
var ErrAssertions = errors.New("lab: assertions failed")

// Run builds the lab, plays the scenario, checks its assertions and tears
// everything down. It returns an error when an assertion fails. Started
// with JANGKAU_LAB_ROLE set, it is instead one of the lab's helpers inside a
// namespace, and returns when ctx ends.
func Run(ctx context.Context, opt Options) error {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if role := os.Getenv(envRole); role != "" {
		return serveRole(ctx, role, os.Getenv(envConfig), opt.Log)
	}
	if runtime.GOOS != "linux" {
		return errors.New("jangkau lab needs Linux (network namespaces, TUN, nftables)")
	}
	if os.Geteuid() != 0 {
		return errors.New("jangkau lab needs root (it creates network namespaces)")
	}
	if opt.Regions == "" {
		return errors.New("--regions FILE is required (a GeoJSON boundary file)")
	}
	if opt.Bin == "" {
		return errors.New("lab: Options.Bin (the jangkau binary) is empty")
	}
	var err error
	if opt.Regions, err = filepath.Abs(opt.Regions); err != nil {
		return err
	}
	if _, err := os.Stat(opt.Regions); err != nil {
		return fmt.Errorf("--regions: %w", err)
	}
	sc, err := LoadScenario(opt.Scenario)
	if err != nil {
		return err
	}
	if err := Preflight(); err != nil {
		return err
	}
	if sc.Soak != nil {
		err = runSoak(ctx, sc, opt)
	} else {
		err = runScenario(ctx, sc, opt)
	}
	if err != nil && ctx.Err() != nil {
		// Not context.Canceled: an interrupted lab proved nothing, and
		// must not exit 0.
		return fmt.Errorf("interrupted (%v); everything it started is torn down", ctx.Err())
	}
	return err
}

// serveRole runs one helper role until ctx ends.
func serveRole(ctx context.Context, role, config string, log *slog.Logger) error {
	switch role {
	case "targets":
		return serveTargets(ctx, config, log)
	case "relay":
		return serveRelay(ctx, config, log)
	case "proxy":
		return serveProxy(ctx, config, log)
	}
	return fmt.Errorf("%s=%q: not a lab role (targets, relay, proxy)", envRole, role)
}
