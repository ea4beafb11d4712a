//go:build probeonly

package main

import (
	"context"
	"io"
)

// storeTool: a probe-only build has no collector store.
func storeTool() *fileTool { return nil }

// runRollupRebuild: a probe-only build has no collector store (storeTool
// is nil, so this is never reached).
func runRollupRebuild(context.Context, []string, io.Writer) int { return 2 }
