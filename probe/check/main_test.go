package check

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/jangkau/jangkau/checkspec"
	"go.uber.org/goleak"
)

// testEnv is what this package's checkers share, as a Kinds' would; its
// sockets linger after the last run, as in a probe between two runs.
var testEnv = &env{sockets: NewSockets(), defaultTLS: &tls.Config{}}

func TestMain(m *testing.M) {
	code := m.Run()
	testEnv.sockets.Close()
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

// The constructors as NewKinds wraps them, on testEnv.
func newHTTPChecker(cc checkspec.CheckConfig) (Checker, error) { return checker(testEnv.newHTTP(cc)) }
func newTCPChecker(cc checkspec.CheckConfig) (Checker, error)  { return checker(testEnv.newTCP(cc)) }
func newICMPChecker(cc checkspec.CheckConfig) (Checker, error) { return checker(testEnv.newICMP(cc)) }
func newDNSChecker(cc checkspec.CheckConfig) (Checker, error)  { return checker(newDNS(cc)) }

// newHTTPCheckerFrom returns the concrete type, for tests that look
// inside it.
func newHTTPCheckerFrom(cc checkspec.CheckConfig) (*httpChecker, error) { return testEnv.newHTTP(cc) }
