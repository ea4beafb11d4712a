package collector

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// chromium finds Debian's Chromium (testenv's rule when it is missing).
func chromium(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "chromium", "chromium")
}

// TestMapPageInChromium loads the map page in headless Chromium and checks
// what a planner sees: the pixel in the middle of the blank kecamatan is
// the blank colour, and the summary names it.
func TestMapPageInChromium(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 20, f.now, true, 12)}))
	f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)}))

	ctx := headlessChromium(t, exe, chromedp.WindowSize(1400, 1100))

	var summary string
	var box []float64
	var shot []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.http.URL+"/?level=3&lang=en"),
		chromedp.WaitVisible(`#summary`, chromedp.ByQuery),
		chromedp.Text(`#summary`, &summary, chromedp.ByQuery),
		// A point where the browser drew the blank kecamatan's path on top
		// (its probe's marker sits at the centre, so look around it).
		chromedp.Evaluate(`(() => {
			const p = document.querySelector('path[data-code="99.01.02"]');
			const r = p.getBoundingClientRect();
			for (const fx of [0.3, 0.7, 0.5]) for (const fy of [0.3, 0.7, 0.5]) {
				const x = Math.round(r.left + r.width * fx), y = Math.round(r.top + r.height * fy);
				if (document.elementFromPoint(x, y) === p) return [x, y, 1, window.devicePixelRatio];
			}
			return [0, 0, 0, window.devicePixelRatio];
		})()`, &box),
		chromedp.CaptureScreenshot(&shot),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !strings.Contains(summary, "Timur (99.01.02): blank") {
		t.Errorf("summary %q does not name the blank kecamatan", summary)
	}
	if len(box) != 4 || box[2] != 1 {
		t.Fatalf("the blank kecamatan's path is not drawn on top anywhere inside its box: %v", box)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(int(box[0]*box[3]), int(box[1]*box[3])).RGBA()
	got := fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
	if got != coverage.StatusBlank.Colour() {
		t.Errorf("pixel at the blank kecamatan's centre is %s, want the blank colour %s", got, coverage.StatusBlank.Colour())
	}
}

// headlessChromium starts Debian's Chromium at exe, headless and kept off
// the network (no background networking, component updates or QUIC), and
// returns a browser context of 60 s that ends with the test.
func headlessChromium(t *testing.T, exe string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	// Chromium may still write its profile as it exits: remove it ourselves,
	// after the browser is gone, rather than in t.TempDir's cleanup.
	profile, err := os.MkdirTemp("", "jangkau-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	return ctx
}

// TestMapPageOnAPhone loads the map page at 420x900 CSS pixels: the map
// spans the width above the legend, nothing scrolls sideways, the table
// reads as a list of cards, and the first Tab lands on the skip link.
func TestMapPageOnAPhone(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 20, f.now, true, 12)}))
	f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)}))

	ctx := headlessChromium(t, exe)
	var got struct {
		Width, ScrollWidth         float64
		MapLeft, MapWidth, MapTop  float64
		LegendTop, SummaryTop      float64
		RowDisplay, StatusLabel    string
		RowWidth, Rows, HeadRight  float64
		Focused, Summary, FirstRow string
	}
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(420, 900, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(f.http.URL+"/?level=3"),
		chromedp.WaitVisible(`#summary`, chromedp.ByQuery),
		chromedp.KeyEvent("\t"),
		chromedp.Evaluate(`(() => {
			const svg = document.querySelector('#map svg').getBoundingClientRect();
			const row = document.querySelector('#regions tbody tr');
			const thead = document.querySelector('#regions thead').getBoundingClientRect();
			return {
				Width: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth,
				MapLeft: svg.left, MapWidth: svg.width, MapTop: svg.top,
				LegendTop: document.querySelector('.legend').getBoundingClientRect().top,
				SummaryTop: document.querySelector('#summary').getBoundingClientRect().top,
				RowDisplay: getComputedStyle(row).display, HeadRight: thead.right,
				StatusLabel: getComputedStyle(row.children[2], '::before').content,
				RowWidth: row.getBoundingClientRect().width, Rows: document.querySelectorAll('#regions tbody tr').length,
				Focused: document.activeElement.className, Summary: document.querySelector('#summary').innerText,
				FirstRow: row.innerText,
			};
		})()`, &got),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if got.Width != 420 {
		t.Fatalf("viewport %v CSS px wide, want 420 (is <meta name=viewport> there?)", got.Width)
	}
	if got.ScrollWidth > got.Width {
		t.Errorf("page is %v px wide in a %v px viewport: it scrolls sideways", got.ScrollWidth, got.Width)
	}
	if got.MapWidth < 0.9*got.Width || got.MapLeft < 0 {
		t.Errorf("map %v px wide at %v in a %v px viewport, want the full width", got.MapWidth, got.MapLeft, got.Width)
	}
	if !(got.MapTop < got.SummaryTop && got.SummaryTop < got.LegendTop) {
		t.Errorf("map at %v, summary at %v, legend at %v: want map, then summary, then legend", got.MapTop, got.SummaryTop, got.LegendTop)
	}
	if got.Rows != 3 || got.RowDisplay != "block" || got.RowWidth > got.Width || got.HeadRight > 0 {
		t.Errorf("regions: %v rows shown as %q, %v px wide, column heads ending at %v: want 3 cards within the screen and the heads out of sight",
			got.Rows, got.RowDisplay, got.RowWidth, got.HeadRight)
	}
	if got.StatusLabel != `"status: "` || !strings.Contains(got.FirstRow, "Barat\nbaik") {
		t.Errorf("first card %q labels its status with %s, want \"status: \" before baik", got.FirstRow, got.StatusLabel)
	}
	if got.Focused != "skip" {
		t.Errorf("the first Tab focuses class %q, want the skip link", got.Focused)
	}
	if !strings.Contains(got.Summary, "Timur (99.01.02): blank spot, sejak") {
		t.Errorf("summary %q does not name the blank kecamatan and since when", got.Summary)
	}
}
