// Package synth generates a synthetic country: a region boundary file with
// the shape of Indonesia's administration (38 provinces, about 500
// kabupaten/kota, 7,000 kecamatan and 83,000 desa/kelurahan, Kemendagri code
// structure) over invented land, for load tests at a scale no real file in
// the repository has.
//
// The land is a jittered lattice: every desa is one cell, whose corners and
// edge points are shared with its neighbours, and every parent is a
// rectangle of cells cut out by recursive guillotine splits. Children
// therefore cover their parent exactly, borders between neighbours are the
// same points in both, and there are no gaps or overlaps. The same seed
// always gives the same country.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// Options size the country. Zero fields take Indonesia's 2023 figures.
type Options struct {
	Seed       uint64
	Provinces  int       // default 38
	Kabupaten  int       // total over all provinces; default 514
	Kecamatan  int       // total; default 7,277
	Desa       int       // total, approximate (the lattice is rounded); default 83,763
	Bound      orb.Bound // default lon 100..120, lat -9.5..-1.8: Indonesia's land area, 1.9 million km², in one piece
	EdgePoints int       // points inside each cell edge, making borders less straight; default 2, -1 for none
}

// Indonesia is the default size: Kemendagri's counts for 2023.
var Indonesia = Options{Provinces: 38, Kabupaten: 514, Kecamatan: 7277, Desa: 83763}

func (o Options) withDefaults() Options {
	if o.Provinces == 0 {
		o.Provinces = Indonesia.Provinces
	}
	if o.Kabupaten == 0 {
		o.Kabupaten = Indonesia.Kabupaten
	}
	if o.Kecamatan == 0 {
		o.Kecamatan = Indonesia.Kecamatan
	}
	if o.Desa == 0 {
		o.Desa = Indonesia.Desa
	}
	if o.Bound.IsZero() {
		// Indonesia's islands lie in a box of 46° by 17°, but its land is
		// a fifth of that; what costs a collector (tiles at zoom 15, the
		// area a desa has) follows the land.
		o.Bound = orb.Bound{Min: orb.Point{100, -9.5}, Max: orb.Point{120, -1.8}}
	}
	switch {
	case o.EdgePoints == 0:
		o.EdgePoints = 2
	case o.EdgePoints < 0:
		o.EdgePoints = 0
	}
	return o
}

// Region is one generated area: its code, name, population (summed for
// parents) and its rectangle of lattice cells.
type Region struct {
	Code       string
	Name       string
	Level      int // 1 province .. 4 desa
	Kota       bool
	Population int64
	Cells      Rect
}

// Rect is a half-open rectangle of lattice cells, [X0,X1) × [Y0,Y1).
type Rect struct{ X0, Y0, X1, Y1 int }

func (r Rect) w() int    { return r.X1 - r.X0 }
func (r Rect) h() int    { return r.Y1 - r.Y0 }
func (r Rect) area() int { return r.w() * r.h() }

// Country is a generated hierarchy. Levels[1] are the provinces, Levels[4]
// the desa, each sorted by code; a region's parent is the one whose code is
// its own minus the last segment.
type Country struct {
	Levels     [5][]*Region
	cols, rows int
	opt        Options
}

// Generate makes the country described by opt.
func Generate(opt Options) (*Country, error) {
	opt = opt.withDefaults()
	if opt.Provinces < 1 || opt.Kabupaten < opt.Provinces || opt.Kecamatan < opt.Kabupaten || opt.Desa < opt.Kecamatan {
		return nil, fmt.Errorf("synth: counts must grow down the levels (provinces %d ≤ kabupaten %d ≤ kecamatan %d ≤ desa %d) and be at least 1",
			opt.Provinces, opt.Kabupaten, opt.Kecamatan, opt.Desa)
	}
	if opt.Provinces > len(provinceCodes)+len(spareProvinceCodes) {
		return nil, fmt.Errorf("synth: provinces %d: at most %d two-digit codes", opt.Provinces, len(provinceCodes)+len(spareProvinceCodes))
	}
	w, h := opt.Bound.Max[0]-opt.Bound.Min[0], opt.Bound.Max[1]-opt.Bound.Min[1]
	if !(w > 0 && h > 0) {
		return nil, fmt.Errorf("synth: bound %v has no area", opt.Bound)
	}
	c := &Country{opt: opt}
	c.cols = max(int(math.Round(math.Sqrt(float64(opt.Desa)*w/h))), 1)
	c.rows = max(int(math.Round(float64(opt.Desa)/float64(c.cols))), 1)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6a616e676b6175))
	names := newNamer(rng)

	codes := append(append([]string(nil), provinceCodes...), spareProvinceCodes...)
	provs := split(Rect{0, 0, c.cols, c.rows}, opt.Provinces, rng)
	for i, pr := range provs {
		p := &Region{Code: codes[i], Name: names.province(), Level: 1, Cells: pr}
		c.Levels[1] = append(c.Levels[1], p)
	}
	total := c.cols * c.rows
	for _, p := range c.Levels[1] {
		kabs := split(p.Cells, share(opt.Kabupaten, p.Cells.area(), total), rng)
		nKota := len(kabs) / 6
		for i, kr := range kabs {
			k := &Region{Level: 2, Cells: kr, Kota: i >= len(kabs)-nKota}
			if k.Kota {
				k.Code = fmt.Sprintf("%s.%02d", p.Code, 71+i-(len(kabs)-nKota))
			} else {
				k.Code = fmt.Sprintf("%s.%02d", p.Code, i+1)
			}
			k.Name = names.kabupaten(k.Kota)
			c.Levels[2] = append(c.Levels[2], k)
		}
	}
	for _, k := range c.Levels[2] {
		kecs := split(k.Cells, share(opt.Kecamatan, k.Cells.area(), total), rng)
		for i, cr := range kecs {
			kc := &Region{Code: fmt.Sprintf("%s.%s", k.Code, segment(i+1, len(kecs))), Name: names.place(), Level: 3, Kota: k.Kota, Cells: cr}
			c.Levels[3] = append(c.Levels[3], kc)
		}
	}
	for _, kc := range c.Levels[3] {
		i := 0
		for y := kc.Cells.Y0; y < kc.Cells.Y1; y++ {
			for x := kc.Cells.X0; x < kc.Cells.X1; x++ {
				i++
				// Kemendagri: 1xxx kelurahan (in a kota), 2xxx desa.
				first := 2000
				if kc.Kota {
					first = 1000
				}
				d := &Region{Code: fmt.Sprintf("%s.%04d", kc.Code, first+i), Name: names.place(), Level: 4, Kota: kc.Kota,
					Cells: Rect{x, y, x + 1, y + 1}, Population: population(rng, kc.Kota)}
				c.Levels[4] = append(c.Levels[4], d)
			}
		}
	}
	// Parents' population is their children's sum, as the loader's
	// roll-up makes it.
	for level := 3; level >= 1; level-- {
		byCode := make(map[string]*Region, len(c.Levels[level]))
		for _, r := range c.Levels[level] {
			byCode[r.Code] = r
		}
		for _, r := range c.Levels[level+1] {
			byCode[r.Code[:lastDot(r.Code)]].Population += r.Population
		}
	}
	return c, nil
}

// segment formats a kecamatan number with two digits, as Kemendagri does,
// or three when a kabupaten has more than 99.
func segment(i, n int) string {
	if n > 99 {
		return fmt.Sprintf("%03d", i)
	}
	return fmt.Sprintf("%02d", i)
}

func lastDot(code string) int {
	for i := len(code) - 1; i >= 0; i-- {
		if code[i] == '.' {
			return i
		}
	}
	return 0
}

// share is part's proportional share of n, at least 1.
func share(n, part, total int) int {
	return max(int(math.Round(float64(n)*float64(part)/float64(total))), 1)
}

// population draws a desa's people from a log-normal around 2,800 (a
// kelurahan three times that): Indonesia's 278 million over 83,763 desa is
// 3,300 on average, with a long tail.
func population(rng *rand.Rand, kota bool) int64 {
	median := 2800.0
	if kota {
		median *= 3
	}
	return int64(math.Max(50, math.Round(median*math.Exp(0.8*rng.NormFloat64()))))
}

// split cuts r into n rectangles of about equal area by recursive
// guillotine cuts across the longer side, each cut moved up to 15% off the
// even share so that sizes vary. A rectangle of one cell cannot be cut, so
// fewer than n come back when r has fewer than n cells.
func split(r Rect, n int, rng *rand.Rand) []Rect {
	if n <= 1 || r.area() <= 1 {
		return []Rect{r}
	}
	n1 := n / 2
	frac := float64(n1) / float64(n) * (0.85 + 0.3*rng.Float64())
	var a, b Rect
	if r.w() >= r.h() {
		cut := min(max(int(math.Round(float64(r.w())*frac)), 1), r.w()-1)
		a, b = Rect{r.X0, r.Y0, r.X0 + cut, r.Y1}, Rect{r.X0 + cut, r.Y0, r.X1, r.Y1}
	} else {
		cut := min(max(int(math.Round(float64(r.h())*frac)), 1), r.h()-1)
		a, b = Rect{r.X0, r.Y0, r.X1, r.Y0 + cut}, Rect{r.X0, r.Y0 + cut, r.X1, r.Y1}
	}
	return append(split(a, n1, rng), split(b, n-n1, rng)...)
}

// Polygon is the region's outline: its rectangle's border walked
// counter-clockwise through the shared lattice points, so that a parent's
// outline is exactly the union of its children's.
func (c *Country) Polygon(r *Region) orb.Polygon {
	rc := r.Cells
	ring := make(orb.Ring, 0, 2*(rc.w()+rc.h())*(c.opt.EdgePoints+1)+1)
	// South edge west to east, east edge north, north edge west, west edge south.
	for x := rc.X0; x < rc.X1; x++ {
		ring = c.edge(ring, x, rc.Y0, true, false)
	}
	for y := rc.Y0; y < rc.Y1; y++ {
		ring = c.edge(ring, rc.X1, y, false, false)
	}
	for x := rc.X1 - 1; x >= rc.X0; x-- {
		ring = c.edge(ring, x, rc.Y1, true, true)
	}
	for y := rc.Y1 - 1; y >= rc.Y0; y-- {
		ring = c.edge(ring, rc.X0, y, false, true)
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// edge appends the lattice edge from vertex (x, y) to (x+1, y) (horizontal)
// or (x, y+1), without its end vertex; reversed, it runs the other way and
// starts at that end vertex instead.
func (c *Country) edge(ring orb.Ring, x, y int, horizontal, reversed bool) orb.Ring {
	x1, y1 := x, y+1
	if horizontal {
		x1, y1 = x+1, y
	}
	a, b := c.vertex(x, y), c.vertex(x1, y1)
	k := c.opt.EdgePoints
	pts := make([]orb.Point, 0, k)
	// The perpendicular of a west-east or south-north edge.
	nx, ny := -(b[1] - a[1]), b[0]-a[0]
	kind := uint64(2)
	if horizontal {
		kind = 1
	}
	outer := horizontal && (y == 0 || y == c.rows) || !horizontal && (x == 0 || x == c.cols)
	for m := 1; m <= k; m++ {
		t := float64(m) / float64(k+1)
		off := 0.16 * (unit(c.opt.Seed, kind, x, y, m) - 0.5) // ±8% of the edge
		if outer {
			off = 0 // the country is its bound
		}
		pts = append(pts, orb.Point{round6(a[0] + t*(b[0]-a[0]) + off*nx), round6(a[1] + t*(b[1]-a[1]) + off*ny)})
	}
	if !reversed {
		ring = append(ring, a)
		return append(ring, pts...)
	}
	ring = append(ring, b)
	for i := len(pts) - 1; i >= 0; i-- {
		ring = append(ring, pts[i])
	}
	return ring
}

// vertex is lattice point (x, y), moved by up to 20% of a cell each way,
// rounded to 1e-6° (11 cm) as boundary files are, so that every region
// using the point writes the same digits.
func (c *Country) vertex(x, y int) orb.Point {
	b := c.opt.Bound
	dx := (b.Max[0] - b.Min[0]) / float64(c.cols)
	dy := (b.Max[1] - b.Min[1]) / float64(c.rows)
	px, py := b.Min[0]+float64(x)*dx, b.Min[1]+float64(y)*dy
	// The outer border stays straight, so the country is its bound.
	if x > 0 && x < c.cols {
		px += 0.4 * (unit(c.opt.Seed, 3, x, y, 0) - 0.5) * dx
	}
	if y > 0 && y < c.rows {
		py += 0.4 * (unit(c.opt.Seed, 4, x, y, 0) - 0.5) * dy
	}
	return orb.Point{round6(px), round6(py)}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// unit is a deterministic number in [0, 1) for one lattice feature, a hash
// rather than a stream so that both regions sharing a point draw the same.
func unit(seed, kind uint64, x, y, m int) float64 {
	h := seed ^ kind*0x9e3779b97f4a7c15 ^ uint64(x)<<40 ^ uint64(y)<<16 ^ uint64(m)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}

// Bound is the land the country covers.
func (c *Country) Bound() orb.Bound { return c.opt.Bound }

// CellCenter is the undisturbed centre of lattice cell (x, y), which lies
// inside that cell's desa whatever the jitter.
func (c *Country) CellCenter(x, y int) orb.Point {
	b := c.opt.Bound
	dx := (b.Max[0] - b.Min[0]) / float64(c.cols)
	dy := (b.Max[1] - b.Min[1]) / float64(c.rows)
	return orb.Point{b.Min[0] + (float64(x)+0.5)*dx, b.Min[1] + (float64(y)+0.5)*dy}
}
