package interop

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// How the tests find and run each client.

// clientsDir is interop/clients: the client scripts, package.json and the
// pinned package-lock.json.
func clientsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("clients")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// npmClients returns interop/clients once `npm ci` has installed it, or
// skips (fails in CI) naming the command.
func npmClients(t *testing.T) string {
	t.Helper()
	testenv.LookPath(t, "node", "nodejs")
	dir := clientsDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		testenv.Missing(t, "the npm clients are not installed: (cd interop/clients && npm ci)")
	}
	return dir
}

// debianPython returns Debian's python3 when it imports module: QGIS and
// OWSLib come as Debian packages for /usr/bin/python3, which another python3
// first on PATH (pyenv, a venv) does not see.
func debianPython(t *testing.T, module, debianPackage string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	cmd := exec.Command(py, "-c", "import "+module)
	cmd.Env = append(os.Environ(), "QT_QPA_PLATFORM=offscreen")
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "%s cannot import %s (%v: %s): apt-get install %s", py, module, err, strings.TrimSpace(string(out)), debianPackage)
	}
	return py
}

// runClient runs a client script with its input as JSON on stdin and
// decodes the JSON it writes to the file named by its last argument.
func runClient(t *testing.T, timeout time.Duration, env []string, in, out any, name string, args ...string) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	result := filepath.Join(t.TempDir(), "result.json")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(args, result)...)
	cmd.Dir = clientsDir(t)
	cmd.Stdin = strings.NewReader(string(input))
	cmd.Env = append(append(os.Environ(), noProxy...), env...)
	start := time.Now()
	log, err := cmd.CombinedOutput()
	t.Logf("%s %s: %s", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	data, rerr := os.ReadFile(result)
	if err != nil || rerr != nil {
		t.Fatalf("%s %s: %v %v\n%s", name, strings.Join(args, " "), err, rerr, log)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s wrote %q: %v\n%s", name, strings.Join(args, " "), data, err, log)
	}
}

// noProxy keeps every client on loopback whatever the environment says.
var noProxy = []string{"http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "GDAL_HTTP_PROXY=",
	"no_proxy=127.0.0.1,localhost", "NO_PROXY=127.0.0.1,localhost"}
