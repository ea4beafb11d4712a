package draw

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
	"github.com/paulmach/orb/simplify"

	"github.com/jangkau/jangkau/geo/region"
)

// SVGPoint is a marker drawn over the regions, such as a probe.
type SVGPoint struct {
	Lat, Lon float64
	Label    string // tooltip; "" for none
	Colour   string // fill; "" for black
}

// SVGOptions say what to draw. Colours and texts come from functions so the
// writer knows nothing of statuses or of where the figures come from.
type SVGOptions struct {
	Width, Height int                         // pixels; defaults 900x600
	Fill          func(*region.Region) string // fill colour per region; default the unmeasured grey
	Title         func(*region.Region) string // tooltip (<title>); default "name (code)"
	Href          func(*region.Region) string // optional link per region ("" = none)
	// FillOpacity per region, 0..1; nil or a value outside it is opaque.
	// The page draws a region whose results cover only part of it lighter.
	FillOpacity func(*region.Region) float64
	// Label per region, written on the map where it fits inside the
	// region's box at LabelSize pixels (default 11); "" = none.
	Label     func(*region.Region) string
	LabelSize int
	Points    []SVGPoint // markers, e.g. probes
	Bound     orb.Bound  // optional view bound; default union of regions
}

// defaultFill is the grey every jangkau map gives a cell with nothing to
// show (the colour of the unmeasured status), so that a region drawn
// without a Fill looks unmeasured rather than missing.
const defaultFill = "#C8C8C8"

// svgTolerance is the Douglas-Peucker tolerance in pixels: below what a
// screen shows, and it keeps the 1,552-desa map of Banten small.
const svgTolerance = 0.5

// WriteSVG draws regions as a standalone SVG map in web-mercator, north up,
// the way the map page and reports show them. One <path> per region with
// id "region-<code with - for .>" and data-code, so that pages can style
// and script it without parsing the geometry.
func WriteSVG(w io.Writer, regions []*region.Region, opt SVGOptions) error {
	if opt.Width <= 0 {
		opt.Width = 900
	}
	if opt.Height <= 0 {
		opt.Height = 600
	}
	view := opt.Bound
	if view.IsZero() && len(regions) > 0 {
		view = regions[0].Bound
		for _, r := range regions[1:] {
			view = view.Union(r.Bound)
		}
	}
	pr := newPixelProjection(view, opt.Width, opt.Height)

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n",
		opt.Width, opt.Height, opt.Width, opt.Height)
	bw.WriteString(`<g stroke="#fff" stroke-width="0.5" stroke-linejoin="round">` + "\n")
	var d strings.Builder
	for _, r := range regions {
		d.Reset()
		pr.pathData(&d, r.Geometry)
		fill, title, href := defaultFill, r.Name+" ("+r.Code+")", ""
		if opt.Fill != nil {
			fill = opt.Fill(r)
		}
		if opt.Title != nil {
			title = opt.Title(r)
		}
		if opt.Href != nil {
			href = opt.Href(r)
		}
		if href != "" {
			bw.WriteString(`<a href="` + escape(href) + `">`)
		}
		opacity := ""
		if opt.FillOpacity != nil {
			if o := opt.FillOpacity(r); o >= 0 && o < 1 {
				opacity = `" fill-opacity="` + strconv.FormatFloat(o, 'f', 2, 64)
			}
		}
		bw.WriteString(`<path id="region-` + escape(strings.ReplaceAll(r.Code, ".", "-")) +
			`" data-code="` + escape(r.Code) + `" fill="` + escape(fill) + opacity +
			`" fill-rule="evenodd" d="` + d.String() + `"><title>` + escape(title) + `</title></path>`)
		if href != "" {
			bw.WriteString(`</a>`)
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("</g>\n")
	if opt.Label != nil {
		writeLabels(bw, regions, opt, pr)
	}
	for _, p := range opt.Points {
		x, y := pr.pixel(orb.Point{p.Lon, p.Lat})
		colour := p.Colour
		if colour == "" {
			colour = "#000"
		}
		fmt.Fprintf(bw, `<circle cx="%s" cy="%s" r="4" fill="%s" stroke="#fff" stroke-width="1">`,
			tenths(round10(x)), tenths(round10(y)), escape(colour))
		if p.Label != "" {
			bw.WriteString(`<title>` + escape(p.Label) + `</title>`)
		}
		bw.WriteString("</circle>\n")
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// writeLabels writes each region's label at the centre of its largest
// polygon's box, when the text fits inside the region's box (text is
// taken as 0.6 of the font size per character) and does not overlap a
// label already written: larger regions are labelled first. Labels do not
// take the pointer, so the region under them stays the link and the
// tooltip.
func writeLabels(bw *bufio.Writer, regions []*region.Region, opt SVGOptions, pr pixelProjection) {
	size := float64(opt.LabelSize)
	if size <= 0 {
		size = 11
	}
	type box struct{ x0, y0, x1, y1 float64 }
	type candidate struct {
		label string
		x, y  float64
		room  float64 // pixel area of the region's box
	}
	var cands []candidate
	for _, r := range regions {
		label := opt.Label(r)
		if label == "" {
			continue
		}
		var best orb.Bound
		area := func(b orb.Bound) float64 { return (b.Max[0] - b.Min[0]) * (b.Max[1] - b.Min[1]) }
		for _, poly := range region.Polygons(r.Geometry) {
			if b := poly.Bound(); best.IsZero() || area(b) > area(best) {
				best = b
			}
		}
		if best.IsZero() {
			continue
		}
		x0, y0 := pr.pixel(best.Min)
		x1, y1 := pr.pixel(best.Max)
		w, h := math.Abs(x1-x0), math.Abs(y1-y0)
		if w < float64(len([]rune(label)))*size*0.6+4 || h < size*1.6 {
			continue
		}
		cands = append(cands, candidate{label, (x0 + x1) / 2, (y0 + y1) / 2, w * h})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].room > cands[j].room })
	fmt.Fprintf(bw, `<g font-size="%g" text-anchor="middle" dominant-baseline="central" fill="#1a1a1a" stroke="#fff" stroke-width="3" paint-order="stroke" pointer-events="none" aria-hidden="true">`+"\n", size)
	var placed []box
	for _, c := range cands {
		half := float64(len([]rune(c.label)))*size*0.3 + 2
		b := box{c.x - half, c.y - size*0.7, c.x + half, c.y + size*0.7}
		clear := true
		for _, p := range placed {
			if b.x0 < p.x1 && p.x0 < b.x1 && b.y0 < p.y1 && p.y0 < b.y1 {
				clear = false
				break
			}
		}
		if !clear {
			continue
		}
		placed = append(placed, b)
		fmt.Fprintf(bw, `<text x="%s" y="%s">%s</text>`+"\n", tenths(round10(c.x)), tenths(round10(c.y)), escape(c.label))
	}
	bw.WriteString("</g>\n")
}

// pixelProjection maps [lon, lat] to SVG pixels: web-mercator, scaled to
// fit the view bound into the canvas with its aspect kept, centred.
type pixelProjection struct {
	minX, maxY     float64 // mercator metres of the view's west and north edges
	scale          float64 // pixels per metre
	offX, offY     float64 // centring margins
	simplification *simplify.DouglasPeuckerSimplifier
}

func newPixelProjection(view orb.Bound, width, height int) pixelProjection {
	lo := project.WGS84.ToMercator(view.Min)
	hi := project.WGS84.ToMercator(view.Max)
	dx, dy := math.Max(hi[0]-lo[0], 1e-9), math.Max(hi[1]-lo[1], 1e-9)
	scale := math.Min(float64(width)/dx, float64(height)/dy)
	return pixelProjection{
		minX: lo[0], maxY: hi[1], scale: scale,
		offX:           (float64(width) - dx*scale) / 2,
		offY:           (float64(height) - dy*scale) / 2,
		simplification: simplify.DouglasPeucker(svgTolerance),
	}
}

func (pr pixelProjection) pixel(p orb.Point) (x, y float64) {
	m := project.WGS84.ToMercator(p)
	return (m[0]-pr.minX)*pr.scale + pr.offX, (pr.maxY-m[1])*pr.scale + pr.offY
}

// pathData writes the rings of g as relative path commands in tenths of a
// pixel: relative steps are short numbers, which roughly halves the size of
// a map with many small regions. Rings that simplify away are dropped; a
// region too small to keep any ring is drawn from its first exterior ring
// unsimplified, so that it still has a visible (if tiny) path. A hole of
// less than a square pixel is left out: a parent that is the union of its
// children keeps the source's sliver gaps between them as holes, which
// would be drawn as white hairlines along the children's borders.
func (pr pixelProjection) pathData(d *strings.Builder, g orb.Geometry) {
	var cur [2]int64 // the pen, in tenths of a pixel
	wrote := false
	for _, poly := range region.Polygons(g) {
		for i, ring := range poly {
			if i > 0 && pr.area(ring) < 1 {
				continue
			}
			pts := pr.ring(ring, true)
			if len(pts) < 4 {
				if i == 0 {
					break // no exterior, so its holes do not matter
				}
				continue
			}
			writeRing(d, pts, &cur)
			wrote = true
		}
	}
	if !wrote {
		if ps := region.Polygons(g); len(ps) > 0 && len(ps[0]) > 0 {
			writeRing(d, pr.ring(ps[0][0], false), &cur)
		}
	}
}

// area is the area of r on the map, in square pixels.
func (pr pixelProjection) area(r orb.Ring) float64 {
	px := make(orb.Ring, len(r))
	for i, p := range r {
		px[i][0], px[i][1] = pr.pixel(p)
	}
	return ringArea(px)
}

// ring projects, optionally simplifies, and rounds one ring to tenths of a
// pixel, dropping points that round onto their predecessor.
func (pr pixelProjection) ring(r orb.Ring, simplified bool) [][2]int64 {
	px := make(orb.Ring, len(r))
	for i, p := range r {
		px[i][0], px[i][1] = pr.pixel(p)
	}
	if simplified {
		px = pr.simplification.Ring(px)
	}
	out := make([][2]int64, 0, len(px))
	for _, p := range px {
		q := [2]int64{round10(p[0]), round10(p[1])}
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	return out
}

// writeRing writes "m dx dy dx dy ... z"; the closing point is implied by z.
// After z the pen is back at the ring's start, where the next m counts from.
func writeRing(d *strings.Builder, pts [][2]int64, cur *[2]int64) {
	if len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1]
	}
	if len(pts) == 0 {
		return
	}
	d.WriteByte('m')
	prev := *cur
	for i, p := range pts {
		writeNum(d, p[0]-prev[0], i == 0)
		writeNum(d, p[1]-prev[1], false)
		prev = p
	}
	d.WriteByte('z')
	*cur = pts[0]
}

// writeNum writes a value in tenths, with a space before it unless it is
// the first after a command letter or starts with a minus.
func writeNum(d *strings.Builder, v int64, first bool) {
	s := tenths(v)
	if !first && s[0] != '-' {
		d.WriteByte(' ')
	}
	d.WriteString(s)
}

// tenths formats v/10 as briefly as SVG allows: "12.3", "-.5", "7".
func tenths(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	var s string
	switch whole, frac := v/10, v%10; {
	case frac == 0:
		s = strconv.FormatInt(whole, 10)
	case whole == 0:
		s = "." + strconv.FormatInt(frac, 10)
	default:
		s = strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(frac, 10)
	}
	if neg {
		return "-" + s
	}
	return s
}

func round10(v float64) int64 { return int64(math.Round(v * 10)) }

// escape makes any text safe in element content and in quoted attributes.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}
