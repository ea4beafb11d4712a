//go:build probeonly

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
)

// A probe-only build, for district servers: `go build -tags probeonly
// ./cmd/jangkau`. It leaves out the collector, the demo and the lab and
// their dependencies (InfluxDB client, tiles, maps), so the binary is
// smaller and a running probe keeps fewer pages resident
// (docs/benchmarks.md).
const (
	serverUsage     = ""
	serverUsageTail = ""
)

func runServerCommand(_ context.Context, cmd string, _ *flag.FlagSet, _ []string, _, _ io.Writer, _ *string) (bool, error) {
	if slices.Contains([]string{"collector", "demo", "partner-key", "lab", "report", "evidence"}, cmd) {
		return true, fmt.Errorf("not in this probe-only build (built with -tags probeonly); use a full jangkau binary")
	}
	return false, nil
}
