package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintPDFWithoutChromium: without Chromium on PATH the error names
// the Debian package to install.
func TestPrintPDFWithoutChromium(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	html := filepath.Join(dir, "r.html")
	if err := os.WriteFile(html, []byte("<p>x</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := PrintPDF(context.Background(), html, filepath.Join(dir, "r.pdf"))
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("PrintPDF without chromium: %v, want ErrNoChromium naming the package", err)
	}
}
