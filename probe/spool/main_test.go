package spool

import (
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

// The spool's writer is a goroutine: none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// discard is the logger of tests that do not look at logs.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
