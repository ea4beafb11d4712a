package probe

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// CheckOnce runs every check of cfg once, now, and writes a table (or JSON
// results) to w: `jangkau check`. It returns how many checks failed.
// TODO(issue 3).
func CheckOnce(ctx context.Context, cfg *Config, log *slog.Logger, w io.Writer, asJSON bool) (failed int, err error) {
	return 0, errors.New("jangkau check: not implemented yet")
}
