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
// times the share of the ancestor's area that the region covers. Boundary
// files rarely carry population below the kabupaten, and people affected
// must still add up; the estimate assumes people spread evenly, which is
// said wherever it is shown.
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
				if aa := areaOf(a); aa > 0 {
					out[r.Code] = population{n: int64(float64(a.Population)*areaOf(r)/aa + 0.5), estimated: true, known: true}
				}
				break
			}
		}
	}
	return out
}
