package coverage

import (
	"github.com/paulmach/orb/geo"

	"github.com/jangkau/jangkau/geo/region"
)

// population is a region's population: its own figure, or estimated.
type population struct {
	n         int64
	estimated bool
	known     bool
}

// estimatePopulation gives every region a population: its own when the
// boundary file (or CSV) has it, else its nearest ancestor's that is known,
// times the region's share of the area of the ancestor's regions at its
// level. Boundary files rarely carry population below the kabupaten, and
// people affected must still add up; the estimate assumes people spread
// evenly, which is said wherever it is shown. The share is of the regions'
// summed areas, not of the ancestor's outline: boundary files' regions
// overlap a little (Banten's kecamatan by up to 2.5% of a kabupaten), and a
// parent built from its children is their union, so shares of the outline
// would add up to more than the ancestor's people.
func estimatePopulation(rs *region.Regions) map[string]population {
	out := map[string]population{}
	area := map[string]float64{}
	areaOf := func(r *region.Region) float64 {
		a, ok := area[r.Code]
		if !ok {
			a = geo.Area(r.Geometry)
			area[r.Code] = a
		}
		return a
	}
	type ancLevel struct {
		code  string
		level int
	}
	within := map[ancLevel]float64{}
	for _, level := range rs.Levels() {
		for _, r := range rs.Level(level) {
			for anc := region.Parent(r.Code); anc != ""; anc = region.Parent(anc) {
				within[ancLevel{anc, level}] += areaOf(r)
			}
		}
	}
	for _, level := range rs.Levels() {
		for _, r := range rs.Level(level) {
			if r.PopulationKnown {
				out[r.Code] = population{n: r.Population, known: true}
				continue
			}
			for anc := region.Parent(r.Code); anc != ""; anc = region.Parent(anc) {
				a := rs.Get(anc)
				if a == nil || !a.PopulationKnown {
					continue
				}
				if aa := within[ancLevel{anc, level}]; aa > 0 {
					out[r.Code] = population{n: int64(float64(a.Population)*areaOf(r)/aa + 0.5), estimated: true, known: true}
				}
				break
			}
		}
	}
	return out
}
