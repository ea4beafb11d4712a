package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// chromiumFlags keep headless Chromium off the network and out of the
// GPU: the report is a local file with nothing to fetch.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--no-first-run", "--no-pdf-header-footer", "--print-to-pdf-no-header"}

// ErrNoChromium is returned when no Chromium is installed.
var ErrNoChromium = errors.New("report: chromium not found on PATH: install it (Debian: apt-get install chromium) to print the PDF")

// Chromium finds Chromium on PATH under its Debian or upstream names.
func Chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// PrintPDF prints the HTML file htmlPath to pdfPath with headless
// Chromium, loading it from a file:// URL so that nothing is fetched.
func PrintPDF(ctx context.Context, htmlPath, pdfPath string) error {
	exe, err := Chromium()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(pdfPath)
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "jangkau-report-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile, "--print-to-pdf="+out, "file://"+abs)
	cmd := exec.CommandContext(ctx, exe, args...)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("print %s to PDF with %s: %w: %s", htmlPath, exe, err, lastLines(msg, 5))
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return fmt.Errorf("print %s to PDF with %s: no PDF written: %s", htmlPath, exe, lastLines(msg, 5))
	}
	return nil
}

// lastLines keeps Chromium's last n lines of output for an error.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
