// Package testenv holds the one rule for a test whose tool, data or
// privilege is missing on this machine: it is skipped with a message that
// says what to install, except in CI (CI=true), where scripts/test.sh
// installs everything the tests need, so a missing piece is a failure and
// never a silent skip.
package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI: the environment variable CI
// holds a true value ("true", "1", ...), as CI services set it.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing skips the test with the message, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format+" (CI must provide it: scripts/test.sh installs every tool)", args...)
	}
	t.Skipf(format, args...)
}

// LookPath returns the path of tool, or calls Missing naming the Debian
// package that provides it.
func LookPath(t testing.TB, tool, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, "%s not found: apt-get install %s", tool, debianPackage)
	}
	return p
}
