package coverage

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// ServiceCell is one e-service as seen from one region.
type ServiceCell struct {
	Service, Region string
	figures
}

// Outage is a span in which an e-service failed from most regions.
type Outage struct {
	Service  string
	From, To time.Time
}

// ServicesView is the e-service × region matrix of a window, with the
// outages that were left out of the regions' statuses.
type ServicesView struct {
	Level    int
	Services []string
	Cells    []ServiceCell
	Outages  []Outage
}

// Services computes the matrix at a region level. Unlike the region view it
// keeps outage buckets: they are what this view is for.
func (e *Engine) Services(ctx context.Context, src Feed, level int, q Query) (*ServicesView, error) {
	if e.regions.Level(level) == nil {
		return nil, fmt.Errorf("level %d: the regions have levels %v", level, e.regions.Levels())
	}
	f, err := e.fold(ctx, src, q)
	if err != nil {
		return nil, err
	}
	cells, err := f.group(e, grouping{by: groupService, level: level})
	if err != nil {
		return nil, err
	}
	services := map[string]bool{}
	v := &ServicesView{Level: level, Cells: make([]ServiceCell, 0, len(cells))}
	for k, a := range cells {
		service, region := splitServiceKey(k)
		v.Cells = append(v.Cells, ServiceCell{Service: service, Region: region, figures: a.figures()})
		services[service] = true
	}
	for s := range services {
		v.Services = append(v.Services, s)
	}
	sort.Strings(v.Services)
	sort.Slice(v.Cells, func(i, j int) bool {
		if v.Cells[i].Service != v.Cells[j].Service {
			return v.Cells[i].Service < v.Cells[j].Service
		}
		return v.Cells[i].Region < v.Cells[j].Region
	})
	v.Outages = mergeOutages(f.allOutages())
	return v, nil
}

// mergeOutages turns outage buckets into spans, joining adjacent ones.
func mergeOutages(o outageSet) []Outage {
	var out []Outage
	for k := range o {
		from := time.Unix(0, k.bucket).UTC()
		out = append(out, Outage{Service: k.service, From: from, To: from.Add(k.res)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].From.Before(out[j].From)
	})
	merged := out[:0]
	for _, o := range out {
		if n := len(merged); n > 0 && merged[n-1].Service == o.Service && !o.From.After(merged[n-1].To) {
			if o.To.After(merged[n-1].To) {
				merged[n-1].To = o.To
			}
			continue
		}
		merged = append(merged, o)
	}
	return merged
}

// Cause is why a region fails, as the services view tells it: its uplink
// (plain reachability) is down, or e-services fail while the uplink works.
type Cause struct {
	// UplinkDown: the region's uplink checks are blank (availability below
	// blank_below, or mean loss at or above blank_loss).
	UplinkDown bool
	// Services are the e-services that fail from the region (availability
	// below blank_below) while its uplink is not down, sorted; Outage
	// those of them that were down at their end in the window.
	Services []string
	Outage   []string
}

// Known says whether the view could attribute anything.
func (c Cause) Known() bool { return c.UplinkDown || len(c.Services) > 0 }

// Cause attributes region's failures over the view's window.
func (v *ServicesView) Cause(region string, th Thresholds) Cause {
	var c Cause
	down := map[string]bool{}
	for _, o := range v.Outages {
		down[o.Service] = true
	}
	for _, cell := range v.Cells {
		if cell.Region != region || cell.Samples == 0 {
			continue
		}
		failing := cell.Availability < th.BlankBelow || (!math.IsNaN(cell.Loss) && cell.Loss >= th.BlankLoss)
		switch {
		case !failing:
		case cell.Service == rollup.Uplink:
			c.UplinkDown = true
		default:
			c.Services = append(c.Services, cell.Service)
			if down[cell.Service] {
				c.Outage = append(c.Outage, cell.Service)
			}
		}
	}
	if c.UplinkDown {
		c.Services, c.Outage = nil, nil
	}
	return c
}
