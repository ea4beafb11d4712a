package partner

import (
	"context"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/tile"
)

// The evidence layers as OGC API - Features collections and exports: one
// collection per kind of evidence, evidence-podes, evidence-ookla,
// evidence-speedtest and evidence-claim, each holding the rows of the
// newest version of every layer of that kind, with the layer's provenance
// in each feature. One collection per kind, not per layer, keeps the
// collections and the OpenAPI document fixed while layers come and go; a
// layer is one filter away (?layer=podes-2024).
//
// Scope: rows of a carrier outside the partner's carriers are left out
// (claims by their layer's carrier, speed tests by their own); rows without
// a carrier (Podes, Ookla) are everyone's. With region prefixes, a Podes
// row counts by its desa code, an Ookla tile by the region under its
// centre, a speed test by the region under its point, and a claim polygon
// when its bounding box meets one of the scope's regions'.

const evidencePrefix = "evidence-"

var evidenceTitles = map[evidence.Kind]string{
	evidence.KindPodes:     "Evidence: village census (Podes) signal per desa",
	evidence.KindOokla:     "Evidence: Ookla open performance tiles",
	evidence.KindSpeedtest: "Evidence: crowd and field speed tests",
	evidence.KindClaim:     "Evidence: carriers' declared coverage",
}

var evidenceDescriptions = map[evidence.Kind]string{
	evidence.KindPodes:     "For each desa, the strongest mobile signal and the best technology the village census reports, on the desa's boundary.",
	evidence.KindOokla:     "Ookla's average speeds and latency per zoom-16 tile (quadkey), fixed or mobile.",
	evidence.KindSpeedtest: "Speed tests at points: time, carrier, download, upload, latency.",
	evidence.KindClaim:     "Coverage polygons carriers declare per technology, submitted through the partner API.",
}

// evidenceCollectionInfos are the evidence collections, when the collector
// keeps evidence.
func (s *API) evidenceCollectionInfos() []ogcCollectionInfo {
	if s.r.Evidence() == nil {
		return nil
	}
	var out []ogcCollectionInfo
	for _, k := range evidence.Kinds {
		out = append(out, ogcCollectionInfo{id: evidencePrefix + string(k), evidence: k,
			title: evidenceTitles[k], description: evidenceDescriptions[k] +
				" The newest version of every layer of this kind; each feature names its layer, source, licence, date and method."})
	}
	return out
}

// Every evidence feature's provenance.
var evidenceCommonSchema = []ogcProperty{
	prop("layer", "string", "Evidence layer id"),
	prop("source", "string", "Who published or collected the layer"),
	prop("licence", "string", "Licence of the layer"),
	{name: "date", typ: "string", format: "date", title: "The date the layer describes"},
	prop("method", "string", "How the layer was collected"),
	prop("version", "integer", "Version of the layer"),
	prop("line", "integer", "Line of the imported file (or feature index of a submission)"),
}

var evidenceSchemas = map[evidence.Kind][]ogcProperty{
	evidence.KindPodes: append(append([]ogcProperty(nil), evidenceCommonSchema...),
		prop("region", "string", "Desa code"),
		prop("name", "string", "Desa name (empty when the boundaries lack the desa)"),
		prop("signal", "string", "Strongest mobile signal: strong, weak, none or unknown"),
		prop("tech", "string", "Best technology: 4G, 3G, 2G, or empty"),
	),
	evidence.KindOokla: append(append([]ogcProperty(nil), evidenceCommonSchema...),
		prop("quadkey", "string", "Zoom-16 tile (Bing/Ookla quadkey)"),
		prop("network", "string", "fixed or mobile"),
		prop("down_kbps", "number", "Average download, kbit/s"),
		prop("up_kbps", "number", "Average upload, kbit/s"),
		prop("latency_ms", "number", "Average latency, ms"),
		prop("tests", "integer", "Tests behind the averages"),
		prop("devices", "integer", "Devices behind the averages"),
	),
	evidence.KindSpeedtest: append(append([]ogcProperty(nil), evidenceCommonSchema...),
		dateTime("time", "When the test ran"),
		prop("carrier", "string", "Carrier of the test"),
		prop("down_kbps", "number", "Download, kbit/s"),
		prop("up_kbps", "number", "Upload, kbit/s"),
		prop("latency_ms", "number", "Latency, ms"),
		prop("signal", "string", "Signal the test shows: strong, weak, none or unknown"),
	),
	evidence.KindClaim: append(append([]ogcProperty(nil), evidenceCommonSchema...),
		prop("carrier", "string", "Carrier whose coverage is claimed"),
		prop("tech", "string", "Technology claimed: 5G, 4G, 3G or 2G"),
		prop("submitter", "string", "Partner that submitted the claim"),
	),
}

// evidenceColumns are a kind's CSV columns: its properties and the WKT.
func evidenceColumns(k evidence.Kind) []string {
	var cols []string
	for _, p := range evidenceSchemas[k] {
		cols = append(cols, p.name)
	}
	return append(cols, "wkt")
}

// layerVisible says whether a layer is inside the scope: a carrier's layer
// only for a partner with that carrier.
func (q exportQuery) layerVisible(l evidence.Layer) bool {
	return l.Carrier == "" || q.sc.carrierOK(l.Carrier)
}

// evidenceFeatures are the rows of the newest version of every layer of
// kind k within the scope and the query.
func (s *API) evidenceFeatures(ctx context.Context, k evidence.Kind, q exportQuery) ([]*geojson.Feature, error) {
	st := s.r.Evidence()
	layers, err := st.Layers(ctx)
	if err != nil {
		return nil, err
	}
	var out []*geojson.Feature
	for _, l := range layers {
		if l.Kind != k || !q.layerVisible(l) {
			continue
		}
		err := s.layerFeatures(ctx, st, l, q, func(f *geojson.Feature) { out = append(out, f) })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// layerFeatures calls fn with each row of version l.Version of layer l
// within the scope and the query, as a feature whose id is the layer's id
// and the row's index, layer-N.
func (s *API) layerFeatures(ctx context.Context, st evidence.Store, l evidence.Layer, q exportQuery, fn func(*geojson.Feature)) error {
	i := -1
	return st.Observations(ctx, l.ID, l.Version, func(o *evidence.Observation) error {
		i++
		g := s.evidenceGeometry(l.Kind, o)
		if !s.rowVisible(q, l, o, g) {
			return nil
		}
		f := geojson.NewFeature(g)
		f.ID = l.ID + "-" + strconv.Itoa(i)
		f.Properties = s.evidenceProperties(l, o)
		fn(f)
		return nil
	})
}

// evidenceGeometry is where a row is: its desa's boundary, its tile's
// square, its point or its polygons; nil when the boundaries lack the desa
// or the quadkey does not parse.
func (s *API) evidenceGeometry(k evidence.Kind, o *evidence.Observation) orb.Geometry {
	switch k {
	case evidence.KindPodes:
		if reg := s.r.Regions().Get(o.Region); reg != nil {
			return reg.Geometry
		}
	case evidence.KindOokla:
		if t, err := tile.ParseQuadkey(o.Quadkey); err == nil {
			return tile.Polygon(t)
		}
	case evidence.KindSpeedtest:
		return orb.Point{o.Lon, o.Lat}
	case evidence.KindClaim:
		if len(o.Area) > 0 {
			return o.Area
		}
	}
	return nil
}

// rowVisible says whether a row is inside the scope and the request's
// carrier and region filters (see the package comment above).
func (s *API) rowVisible(q exportQuery, l evidence.Layer, o *evidence.Observation, g orb.Geometry) bool {
	carrier := o.Carrier
	if carrier == "" {
		carrier = l.Carrier
	}
	if carrier != "" && (!q.sc.carrierOK(carrier) || (q.Carrier != "" && carrier != q.Carrier)) {
		return false
	}
	if len(q.sc.regions) == 0 && q.region == "" {
		return true
	}
	switch l.Kind {
	case evidence.KindPodes:
		return q.visible(o.Region)
	case evidence.KindClaim:
		return g != nil && s.meetsScope(q, g.Bound())
	}
	if g == nil {
		return false
	}
	c := g.Bound().Center()
	reg := s.r.Regions().Locate(c[1], c[0])
	return reg != nil && q.visible(reg.Code)
}

// meetsScope says whether b meets the bound of one of the regions the
// request may read: its region, or else the scope's.
func (s *API) meetsScope(q exportQuery, b orb.Bound) bool {
	codes := q.sc.regions
	if q.region != "" {
		codes = []string{q.region}
	}
	for _, code := range codes {
		if reg := s.r.Regions().Get(code); reg != nil && reg.Bound.Intersects(b) {
			return true
		}
	}
	return false
}

// evidenceProperties are a row's properties, every one of its kind's
// schema, in order.
func (s *API) evidenceProperties(l evidence.Layer, o *evidence.Observation) geojson.Properties {
	p := geojson.Properties{
		"layer": l.ID, "source": l.Source, "licence": l.Licence, "date": l.Date.UTC().Format(time.DateOnly),
		"method": l.Method, "version": l.Version, "line": o.Line,
	}
	switch l.Kind {
	case evidence.KindPodes:
		name := ""
		if reg := s.r.Regions().Get(o.Region); reg != nil {
			name = reg.Name
		}
		p["region"], p["name"], p["signal"], p["tech"] = o.Region, name, o.Signal.String(), string(o.Tech)
	case evidence.KindOokla:
		p["quadkey"], p["network"] = o.Quadkey, l.Network
		p["down_kbps"], p["up_kbps"], p["latency_ms"] = realNumber(o.DownKbps), realNumber(o.UpKbps), realNumber(o.LatencyMS)
		p["tests"], p["devices"] = o.Tests, o.Devices
	case evidence.KindSpeedtest:
		p["time"] = nil
		if !o.Time.IsZero() {
			p["time"] = o.Time.UTC().Format(time.RFC3339)
		}
		p["carrier"] = o.Carrier
		p["down_kbps"], p["up_kbps"], p["latency_ms"] = realNumber(o.DownKbps), realNumber(o.UpKbps), realNumber(o.LatencyMS)
		p["signal"] = o.Signal.String()
	case evidence.KindClaim:
		carrier := o.Carrier
		if carrier == "" {
			carrier = l.Carrier
		}
		p["carrier"], p["tech"], p["submitter"] = carrier, string(o.Tech), l.Submitter
	}
	return p
}
