package coverage

import (
	"maps"
	"strings"
	"sync"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
)

// A layer is a fold of a window's rows with the groups the views read
// from it. A root layer holds the joined cells of the window's older
// segments and groups them from scratch. A layer above another adds the
// cells of newer segments to its parent's groups: a group its segments
// have no cell of is the parent's own aggregate, shared; one they have is
// the parent's, cloned, with their cells merged in. A layer made after
// another of the same segments over the same parent (a write into the
// running minute) starts from that one's groups and redoes only the
// groups of the cells that changed: merging is associative and
// commutative (counts add, sketches add bin by bin, probe and tile sets
// unite), so every group equals the one a fresh fold gives.

// grouping says how a view groups a fold's cells.
type grouping struct {
	by    groupBy
	level int // region level or tile zoom
}

type groupBy uint8

const (
	groupRegion   groupBy = iota // the cell's region code: the deepest level
	groupAncestor                // its region's ancestor at level
	groupTile                    // its tile's quadkey prefix of zoom level
	groupService                 // its e-service and its region's ancestor at level
)

// key is the group of a cell, or false when g leaves it out.
func (g grouping) key(c *rollup.Cell) (string, bool) {
	switch g.by {
	case groupRegion:
		return c.Region, true
	case groupAncestor:
		a := region.Ancestor(c.Region, g.level)
		return a, a != ""
	case groupTile:
		if len(c.Tile) < g.level {
			return "", false
		}
		return c.Tile[:g.level], true
	default:
		a := region.Ancestor(c.Region, g.level)
		return serviceKey(c.Service, a), a != ""
	}
}

// countsOut says whether g counts the rows of outage buckets: only the
// services view does, as outages are what it is for.
func (g grouping) countsOut() bool { return g.by == groupService }

func serviceKey(service, region string) string { return service + "\x00" + region }

func splitServiceKey(k string) (service, region string) {
	service, region, _ = strings.Cut(k, "\x00")
	return service, region
}

type layer struct {
	parent *layer

	// A root's cells, joined: kept ones and those of outage buckets.
	cells, out []foldCell
	outages    outageSet

	// The segments a layer above a root adds; their cells joined into
	// cells and out on first need.
	segs     []*segFold
	joinOnce sync.Once
	joinErr  error

	mu     sync.Mutex
	groups map[grouping]map[string]*acc // each only read once set
}

// newRoot joins parts into a root layer.
func (e *Engine) newRoot(parts []*segFold, shared bool) (*layer, error) {
	kept := make([]cellFold, len(parts))
	out := make([]cellFold, len(parts))
	l := &layer{outages: outageSet{}}
	for i, p := range parts {
		kept[i], out[i] = p.kept, p.out
		maps.Copy(l.outages, p.outages)
	}
	var err error
	if l.cells, err = e.join(kept, shared); err != nil {
		return nil, err
	}
	if l.out, err = e.join(out, shared); err != nil {
		return nil, err
	}
	return l, nil
}

// size is what a layer counts against the bounds: its cells.
func (l *layer) size() int {
	n := len(l.cells) + len(l.out)
	for _, s := range l.segs {
		n += s.size()
	}
	return n
}

// allOutages are the outage buckets of the layer and those below it.
func (l *layer) allOutages() outageSet {
	all := outageSet{}
	for x := l; x != nil; x = x.parent {
		maps.Copy(all, x.outages)
		for _, s := range x.segs {
			maps.Copy(all, s.outages)
		}
	}
	return all
}

// group returns the layer's groups by g, building them once.
func (l *layer) group(e *Engine, g grouping) (map[string]*acc, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.groupLocked(e, g)
}

func (l *layer) groupLocked(e *Engine, g grouping) (map[string]*acc, error) {
	if m, ok := l.groups[g]; ok {
		return m, nil
	}
	var (
		m   map[string]*acc
		err error
	)
	switch {
	case l.parent == nil:
		m, err = l.groupRoot(e, g)
	default:
		var base map[string]*acc
		if base, err = l.parent.group(e, g); err != nil {
			return nil, err
		}
		m, err = l.addJoined(e, g, base)
	}
	if err != nil {
		return nil, err
	}
	if l.groups == nil {
		l.groups = map[grouping]map[string]*acc{}
	}
	l.groups[g] = m
	return m, nil
}

// groupRoot groups a root's cells from scratch; a region level above the
// deepest merges the deepest groups, which are fewer than the cells.
func (l *layer) groupRoot(e *Engine, g grouping) (map[string]*acc, error) {
	m := map[string]*acc{}
	if g.by == groupAncestor {
		deep, err := l.groupLocked(e, grouping{by: groupRegion})
		if err != nil {
			return nil, err
		}
		for code, a := range deep {
			anc := region.Ancestor(code, g.level)
			if anc == "" {
				continue
			}
			c := m[anc]
			if c == nil {
				c = newAcc()
				m[anc] = c
			}
			if err := c.merge(a); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	cells := [][]foldCell{l.cells}
	if g.countsOut() {
		cells = append(cells, l.out)
	}
	for _, cs := range cells {
		for i := range cs {
			k, ok := g.key(&cs[i].Cell)
			if !ok {
				continue
			}
			a := m[k]
			if a == nil {
				a = newAcc()
				m[k] = a
			}
			if err := a.addFolded(&cs[i]); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// addJoined is base with the layer's cells added: its segments joined
// first (once for every grouping), so that a cell of many minutes is
// merged into its groups once.
func (l *layer) addJoined(e *Engine, g grouping, base map[string]*acc) (map[string]*acc, error) {
	l.joinOnce.Do(func() {
		kept := make([]cellFold, len(l.segs))
		out := make([]cellFold, len(l.segs))
		for i, s := range l.segs {
			kept[i], out[i] = s.kept, s.out
		}
		if l.cells, l.joinErr = e.join(kept, true); l.joinErr == nil {
			l.out, l.joinErr = e.join(out, true)
		}
	})
	if l.joinErr != nil {
		return nil, l.joinErr
	}
	m := maps.Clone(base)
	owned := map[string]bool{}
	cells := [][]foldCell{l.cells}
	if g.countsOut() {
		cells = append(cells, l.out)
	}
	for _, cs := range cells {
		for i := range cs {
			k, ok := g.key(&cs[i].Cell)
			if !ok {
				continue
			}
			if !owned[k] {
				if a := base[k]; a != nil {
					m[k] = a.clone()
				} else {
					m[k] = newAcc()
				}
				owned[k] = true
			}
			if err := m[k].addFolded(&cs[i]); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// regroup sets, in m, the groups of keys: each the parent's (base's)
// with the layer's cells of the key merged in; a key with neither goes.
func (l *layer) regroup(e *Engine, g grouping, base, m map[string]*acc, keys map[string]bool) (map[string]*acc, error) {
	at := make([]map[string][]int32, len(l.segs))
	for i, s := range l.segs {
		at[i] = s.positions(e, g, keys)
	}
	for k := range keys {
		a := base[k]
		owned := false
		for i, s := range l.segs {
			pos := at[i][k]
			if len(pos) == 0 {
				continue
			}
			if !owned {
				if a == nil {
					a = newAcc()
				} else {
					a = a.clone()
				}
				owned = true
			}
			cells := s.foldCells(e)
			for _, i := range pos {
				if err := a.addFolded(&cells[i]); err != nil {
					return nil, err
				}
			}
		}
		if a == nil {
			delete(m, k)
			continue
		}
		m[k] = a
	}
	return m, nil
}

// newLayer adds segs to parent. When prev is a layer of the same
// segments' spans over the same parent, the new one starts with every
// group prev has, redoing only the groups of the cells that differ
// between prev's segments and segs.
func (e *Engine) newLayer(parent *layer, segs []*segFold, prev *layer) (*layer, error) {
	l := &layer{parent: parent, segs: segs}
	if prev == nil || prev.parent != parent || len(prev.segs) != len(segs) {
		return l, nil
	}
	prev.mu.Lock()
	groups := maps.Clone(prev.groups)
	prev.mu.Unlock()
	if len(groups) == 0 {
		return l, nil
	}
	changed := changedCells(prev.segs, segs)
	l.groups = make(map[grouping]map[string]*acc, len(groups))
	for g, old := range groups {
		base, err := parent.group(e, g)
		if err != nil {
			return nil, err
		}
		keys := map[string]bool{}
		for i := range changed {
			if k, ok := g.key(&changed[i]); ok {
				keys[k] = true
			}
		}
		if l.groups[g], err = l.regroup(e, g, base, maps.Clone(old), keys); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// changedCells are the cells whose aggregates differ between two versions
// of the same segments, kept or set apart: added, gone or changed.
func changedCells(old, cur []*segFold) []rollup.Cell {
	var out []rollup.Cell
	diff := func(a, b cellFold) {
		for c, x := range b {
			if y, ok := a[c]; !ok || !x.Equal(y) {
				out = append(out, c)
			}
		}
		for c := range a {
			if _, ok := b[c]; !ok {
				out = append(out, c)
			}
		}
	}
	for i := range cur {
		if old[i] == cur[i] {
			continue
		}
		if cur[i].from == old[i].id {
			out = append(out, cur[i].diff...)
			continue
		}
		diff(old[i].kept, cur[i].kept)
		diff(old[i].out, cur[i].out)
	}
	return out
}
