package probe

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The shared ICMP sockets linger after the last run, as in a
	// probe between two runs; close them before looking for leaks.
	sharedEchoSockets.closeIdle()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// discard is the logger of tests that do not look at logs.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
