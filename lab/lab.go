// Package lab is `jangkau lab`: a small province in network namespaces,
// with impaired district links, that proves the map tells the truth.
package lab

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

// Run builds the lab, plays the scenario, checks its assertions and tears
// everything down. It returns an error when an assertion fails.
// TODO(issue 8).
func Run(ctx context.Context, opt Options) error {
	return errors.New("jangkau lab: not implemented yet")
}
