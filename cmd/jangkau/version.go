package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// stampVersion fills in the version when the build did not set it with
//
//	-ldflags "-X github.com/prometheus/common/version.Version=1.2.0"
//
// (as release builds do): a plain "go build" in a checkout gets the
// module's pseudo-version from the VCS stamp, "devel" without one. The
// revision and build tags come from the same stamp (see jangkau version).
// It runs once, before main and before any test, so that nothing reads the
// version while it is written.
func init() { stampVersion() }

func stampVersion() {
	if version.Version != "" {
		return
	}
	version.Version = "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
}
