package page

import (
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/jangkau/jangkau/collector/coverage"
)

// linear is an sRGB colour "#RRGGBB" in linear light.
func linear(t *testing.T, hex string) [3]float64 {
	t.Helper()
	var out [3]float64
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #RRGGBB", hex)
	}
	for i := range out {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			out[i] = c / 12.92
		} else {
			out[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return out
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(t *testing.T, a, b string) float64 {
	lum := func(c [3]float64) float64 { return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2] }
	la, lb := lum(linear(t, a)), lum(linear(t, b))
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// TestContrast holds the page's text to WCAG AA (4.5:1) and its non-text
// marks (swatch borders, rules, focus ring) to 3:1, on every background
// they are drawn on. The template takes every colour from the palette or
// the statuses, so these are the page's colours.
func TestContrast(t *testing.T) {
	if raw := regexp.MustCompile(`#[0-9A-Fa-f]{3,8}\b`).FindString(mapPageHTML); raw != "" {
		t.Fatalf("map.html writes colour %s itself: take it from the palette so this test sees it", raw)
	}
	c := colours
	for _, tc := range []struct {
		what, fg, bg string
		min          float64
	}{
		{"text", c.Text, c.Background, 4.5},
		{"muted text", c.Muted, c.Background, 4.5},
		{"links", c.Link, c.Background, 4.5},
		{"banner text", c.Text, c.BannerBackground, 4.5},
		{"table headings", c.Text, c.HeadBackground, 4.5},
		{"map labels on their halo", "#1A1A1A", "#FFFFFF", 4.5},
		{"swatch border", c.Swatch, c.Background, 3},
		{"rules", c.Rule, c.Background, 3},
		{"focus ring", c.Focus, c.Background, 3},
		{"banner border", c.BannerBorder, c.BannerBackground, 3},
	} {
		if r := contrast(t, tc.fg, tc.bg); r < tc.min {
			t.Errorf("%s: %s on %s has contrast %.2f:1, want at least %g:1", tc.what, tc.fg, tc.bg, r, tc.min)
		}
	}
}

// cvd simulates colour vision deficiencies on linear RGB (Machado,
// Oliveira and Fernandes 2009, severity 1).
var cvd = map[string][3][3]float64{
	"normal":       {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
	"protanopia":   {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
	"deuteranopia": {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
	"tritanopia":   {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}},
}

// lab is CIE L*a*b* (D65) of a linear RGB colour.
func lab(c [3]float64) [3]float64 {
	for i := range c {
		c[i] = math.Min(math.Max(c[i], 0), 1)
	}
	x := (0.4124*c[0] + 0.3576*c[1] + 0.1805*c[2]) / 0.95047
	y := 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	z := (0.0193*c[0] + 0.1192*c[1] + 0.9505*c[2]) / 1.08883
	f := func(v float64) float64 {
		if v > 216.0/24389 {
			return math.Cbrt(v)
		}
		return (24389.0/27*v + 16) / 116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

// TestPaletteColourBlindSafe: under each common colour vision deficiency
// every two statuses stay apart (CIE76 ΔE of 15 or more), and blank stays
// far from degraded (30 or more: Okabe–Ito's orange #E69F00 next to
// vermillion was 18 under deuteranopia); blank keeps the alarm colour,
// vermillion.
func TestPaletteColourBlindSafe(t *testing.T) {
	if got := coverage.StatusBlank.Colour(); got != "#D55E00" {
		t.Errorf("blank is %s, want vermillion #D55E00, the alarm colour maps and dashboards share", got)
	}
	for name, m := range cvd {
		see := func(hex string) [3]float64 {
			c := linear(t, hex)
			var out [3]float64
			for i := range out {
				out[i] = m[i][0]*c[0] + m[i][1]*c[1] + m[i][2]*c[2]
			}
			return lab(out)
		}
		for i, a := range coverage.Statuses {
			for _, b := range coverage.Statuses[i+1:] {
				la, lb := see(a.Colour()), see(b.Colour())
				d := math.Sqrt((la[0]-lb[0])*(la[0]-lb[0]) + (la[1]-lb[1])*(la[1]-lb[1]) + (la[2]-lb[2])*(la[2]-lb[2]))
				min := 15.0
				if (a == coverage.StatusDegraded && b == coverage.StatusBlank) || (a == coverage.StatusBlank && b == coverage.StatusDegraded) {
					min = 30
				}
				if d < min {
					t.Errorf("%s: %s %s and %s %s are ΔE %.1f apart, want at least %g", name, a, a.Colour(), b, b.Colour(), d, min)
				}
			}
		}
	}
}
