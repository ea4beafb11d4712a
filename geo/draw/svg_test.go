package draw

import (
	"bytes"
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
)

type svgDoc struct {
	XMLName xml.Name  `xml:"svg"`
	Width   int       `xml:"width,attr"`
	Height  int       `xml:"height,attr"`
	Paths   []svgPath `xml:"g>path"`
	Links   []struct {
		Href string  `xml:"href,attr"`
		Path svgPath `xml:"path"`
	} `xml:"g>a"`
	Circles []struct {
		CX    float64 `xml:"cx,attr"`
		CY    float64 `xml:"cy,attr"`
		Fill  string  `xml:"fill,attr"`
		Title string  `xml:"title"`
	} `xml:"circle"`
}

type svgPath struct {
	ID       string `xml:"id,attr"`
	Code     string `xml:"data-code,attr"`
	Fill     string `xml:"fill,attr"`
	FillRule string `xml:"fill-rule,attr"`
	D        string `xml:"d,attr"`
	Title    string `xml:"title"`
}

func parseSVG(t *testing.T, data []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, data)
	}
	return doc
}

var pathToken = regexp.MustCompile(`[mz]|-?(?:\d+\.?\d*|\.\d+)`)

// pathRings reads back the relative "m … z" commands WriteSVG emits.
func pathRings(t *testing.T, d string) [][]orb.Point {
	t.Helper()
	var rings [][]orb.Point
	var pen, start orb.Point
	var nums []float64
	flush := func() {
		if len(nums)%2 != 0 {
			t.Fatalf("odd number of coordinates in %q", d)
		}
		var ring []orb.Point
		for i := 0; i < len(nums); i += 2 {
			pen = orb.Point{pen[0] + nums[i], pen[1] + nums[i+1]}
			ring = append(ring, pen)
		}
		if len(ring) > 0 {
			start = ring[0]
			rings = append(rings, ring)
		}
		nums = nums[:0]
	}
	for _, tok := range pathToken.FindAllString(d, -1) {
		switch tok {
		case "m":
			flush()
		case "z":
			flush()
			pen = start
		default:
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil {
				t.Fatal(err)
			}
			nums = append(nums, v)
		}
	}
	flush()
	return rings
}

func centre(t *testing.T, d string) orb.Point {
	var b orb.Bound
	for i, ring := range pathRings(t, d) {
		if i == 0 {
			b = orb.MultiPoint(ring).Bound()
		}
		b = b.Union(orb.MultiPoint(ring).Bound())
	}
	return b.Center()
}

func square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

func TestWriteSVG(t *testing.T) {
	rs, err := region.New([]*region.Region{
		{Code: "1.1", Name: "West", Geometry: square(100, -1, 101, 0)},
		{Code: "1.2", Name: "A & <B>", Geometry: square(101, -1, 102, 0)},
		{Code: "1.3", Name: "East", Geometry: square(102, -1, 103, 0)},
		{Code: "1.4", Name: "North", Geometry: square(101, 0, 102, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	regions := rs.Level(2)
	var buf bytes.Buffer
	err = WriteSVG(&buf, regions, SVGOptions{
		Width: 300, Height: 200,
		Fill: func(r *region.Region) string { return "#009E73" },
		Href: func(r *region.Region) string {
			if r.Code == "1.4" {
				return "/region/1.4?a=1&b=2"
			}
			return ""
		},
		Points: []SVGPoint{{Lat: -0.5, Lon: 101.5, Label: `probe "x" <1>`, Colour: "#123456"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	doc := parseSVG(t, buf.Bytes())
	paths := doc.Paths
	for _, l := range doc.Links {
		if l.Href != "/region/1.4?a=1&b=2" {
			t.Errorf("href %q", l.Href)
		}
		paths = append(paths, l.Path)
	}
	if len(paths) != 4 || len(doc.Links) != 1 {
		t.Fatalf("%d paths (%d linked), want 4 (1)", len(paths), len(doc.Links))
	}
	byCode := map[string]svgPath{}
	for _, p := range paths {
		if p.ID != "region-"+strings.ReplaceAll(p.Code, ".", "-") || p.FillRule != "evenodd" || p.Fill != "#009E73" {
			t.Errorf("path %+v", p)
		}
		byCode[p.Code] = p
	}
	if got := byCode["1.2"].Title; got != "A & <B> (1.2)" {
		t.Errorf("title %q", got)
	}
	if !strings.Contains(out, "A &amp; &lt;B&gt; (1.2)") || !strings.Contains(out, "a=1&amp;b=2") {
		t.Error("text not escaped in the raw output")
	}
	west, mid, east, north := centre(t, byCode["1.1"].D), centre(t, byCode["1.2"].D), centre(t, byCode["1.3"].D), centre(t, byCode["1.4"].D)
	if !(west[0] < mid[0] && mid[0] < east[0]) {
		t.Errorf("x: west %v, middle %v, east %v; want increasing eastwards", west[0], mid[0], east[0])
	}
	if !(north[1] < mid[1]) {
		t.Errorf("y: north %v, south %v; want north smaller", north[1], mid[1])
	}
	// Fit: 3°x2° in a 300x200 canvas fills it; everything stays inside.
	for code, p := range byCode {
		for _, ring := range pathRings(t, p.D) {
			for _, pt := range ring {
				if pt[0] < -0.05 || pt[0] > 300.05 || pt[1] < -0.05 || pt[1] > 200.05 {
					t.Errorf("%s: point %v outside the canvas", code, pt)
				}
			}
		}
	}
	if len(doc.Circles) != 1 || doc.Circles[0].Title != `probe "x" <1>` || doc.Circles[0].Fill != "#123456" {
		t.Errorf("circles %+v", doc.Circles)
	}
	if c := doc.Circles[0]; c.CX < west[0] || c.CX > east[0] || c.CY < north[1] {
		t.Errorf("probe at %v,%v is not in the middle square", c.CX, c.CY)
	}
}

func TestWriteSVGHoleAndIsland(t *testing.T) {
	rs := loadTestdata(t, "province99.geojson")
	var buf bytes.Buffer
	if err := WriteSVG(&buf, rs.Level(3), SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, buf.Bytes())
	if doc.Width != 900 || doc.Height != 600 || len(doc.Paths) != 4 {
		t.Fatalf("%dx%d with %d paths", doc.Width, doc.Height, len(doc.Paths))
	}
	rings := map[string]int{}
	for _, p := range doc.Paths {
		rings[p.Code] = len(pathRings(t, p.D))
	}
	if rings["99.01.01"] != 2 || rings["99.02.01"] != 2 || rings["99.02.02"] != 1 {
		t.Errorf("rings per region %v, want the hole and the island kept", rings)
	}
}

func TestTenths(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 5: ".5", -5: "-.5", 123: "12.3", -120: "-12", 7: ".7"} {
		if got := tenths(v); got != want {
			t.Errorf("tenths(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestWriteSVGBantenADM4(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	desa := rs.Level(4)
	var buf bytes.Buffer
	if err := WriteSVG(&buf, desa, SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, buf.Bytes())
	if len(doc.Paths) != len(desa) {
		t.Errorf("%d paths for %d desa", len(doc.Paths), len(desa))
	}
	for _, p := range doc.Paths {
		if p.D == "" {
			t.Errorf("%s has an empty path", p.Code)
		}
	}
	t.Logf("banten-adm4 at 900x600: %d bytes for %d desa", buf.Len(), len(desa))
	if buf.Len() > 1<<20 {
		t.Errorf("SVG is %d bytes, want under 1 MiB", buf.Len())
	}
}

// TestWriteSVGLabelsAndOpacity: a label is written inside its region's box
// where it fits and left out where it does not; a region drawn lighter
// says so in fill-opacity, an opaque one carries none.
func TestWriteSVGLabelsAndOpacity(t *testing.T) {
	rs, err := region.New([]*region.Region{
		{Code: "1.1", Name: "Wide", Geometry: square(100, -1, 102, 0)},
		{Code: "1.2", Name: "Tiny", Geometry: square(102, -1, 102.02, -0.98)},
		// Inside Wide's box, where Wide's label stands: larger regions are
		// labelled first, and labels never overlap.
		{Code: "1.3", Name: "Over", Geometry: square(100.6, -0.7, 101.4, -0.3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = WriteSVG(&buf, rs.Level(2), SVGOptions{
		Width: 300, Height: 200,
		Label: func(r *region.Region) string { return "Kab. " + r.Name },
		FillOpacity: func(r *region.Region) float64 {
			if r.Code == "1.1" {
				return 0.25
			}
			return 1
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths []struct {
			Code    string `xml:"data-code,attr"`
			Opacity string `xml:"fill-opacity,attr"`
		} `xml:"g>path"`
		Texts []struct {
			X    float64 `xml:"x,attr"`
			Y    float64 `xml:"y,attr"`
			Text string  `xml:",chardata"`
		} `xml:"g>text"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	opacity := map[string]string{}
	for _, p := range doc.Paths {
		opacity[p.Code] = p.Opacity
	}
	if len(opacity) != 3 || opacity["1.1"] != "0.25" || opacity["1.2"] != "" {
		t.Errorf("fill-opacity by region %v, want 1.1 at 0.25 and 1.2 opaque", opacity)
	}
	if len(doc.Texts) != 1 || doc.Texts[0].Text != "Kab. Wide" {
		t.Fatalf("labels %+v, want only Kab. Wide (Kab. Tiny does not fit, Kab. Over would overlap it)", doc.Texts)
	}
	wide := centre(t, pathOf(t, buf.Bytes(), "1.1"))
	if l := doc.Texts[0]; math.Abs(l.X-wide[0]) > 1 || math.Abs(l.Y-wide[1]) > 1 {
		t.Errorf("label at %v,%v, want the centre of Wide %v", l.X, l.Y, wide)
	}
}

// pathOf is the d of the region's path.
func pathOf(t *testing.T, svg []byte, code string) string {
	t.Helper()
	for _, p := range parseSVG(t, svg).Paths {
		if p.Code == code {
			return p.D
		}
	}
	t.Fatalf("no path for %s", code)
	return ""
}

// TestWriteSVGNoSliverHoles draws the kabupaten and the province that
// jangkau builds as unions of the Banten desa: the sliver gaps between
// neighbouring desa in the source become holes of the union, which drawn
// at 900x600 are white hairlines inside a kabupaten. No ring under a
// square pixel may be drawn; the holes a reader can see stay.
func TestWriteSVGNoSliverHoles(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{1, 2} {
		regions := rs.Level(level)
		view := regions[0].Bound
		for _, r := range regions[1:] {
			view = view.Union(r.Bound)
		}
		pr := newPixelProjection(view, 900, 600)
		// The most rings a reader can see: every exterior, and the
		// holes of a square pixel or more on the map.
		holes, most := 0, 0
		for _, r := range regions {
			for _, p := range region.Polygons(r.Geometry) {
				holes += len(p) - 1
				most++
				for _, h := range p[1:] {
					if pr.area(h) >= 1 {
						most++
					}
				}
			}
		}
		if holes == 0 {
			t.Fatalf("level %d: the unions hold no hole; the test has nothing to check", level)
		}
		var buf bytes.Buffer
		if err := WriteSVG(&buf, regions, SVGOptions{}); err != nil {
			t.Fatal(err)
		}
		rings := 0
		for _, p := range parseSVG(t, buf.Bytes()).Paths {
			rings += len(pathRings(t, p.D))
		}
		t.Logf("level %d: %d holes in the unions, %d rings drawn (at most %d), %d bytes", level, holes, rings, most, buf.Len())
		if rings > most {
			t.Errorf("level %d: %d rings drawn, more than the %d exteriors and holes of a square pixel or more: sliver holes drawn as hairlines", level, rings, most)
		}
	}
}
