package region

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// LoadOptions say which GeoJSON properties hold what, because boundary files
// from different publishers name them differently. Zero fields take the
// defaults of the Kemendagri-derived files jangkau ships its tests against.
type LoadOptions struct {
	// CodeProperty holds the Kemendagri code; default "kode". The feature's
	// "id" member is the fallback when the property is absent.
	CodeProperty string
	// NameProperty holds the display name; default "nama".
	NameProperty string
	// PopulationProperty is optional (number or numeric string): without it
	// no population is known and roll-ups report none.
	PopulationProperty string
	// ParentNameProperties name, by level, the property that carries an
	// ancestor's name, so that synthesised ancestors get real names; default
	// {1: "prov_nama", 2: "kab_nama", 3: "kec_nama"}.
	ParentNameProperties map[int]string
}

// withDefaults fills the zero fields, so callers can pass LoadOptions{}.
func (o LoadOptions) withDefaults() LoadOptions {
	if o.CodeProperty == "" {
		o.CodeProperty = "kode"
	}
	if o.NameProperty == "" {
		o.NameProperty = "nama"
	}
	if o.ParentNameProperties == nil {
		o.ParentNameProperties = map[int]string{1: "prov_nama", 2: "kab_nama", 3: "kec_nama"}
	}
	return o
}

// Region is one administrative area. Its place in the hierarchy is its code
// alone, so roll-ups need no table beside the boundary file.
type Region struct {
	Code            string       // Kemendagri code: "36" province, "36.01" kabupaten, "36.01.05" kecamatan, "36.01.05.2003" desa
	Name            string       // display name; the code when nothing better is known
	Level           int          // number of code segments (1..4; any depth allowed)
	Population      int64        // persons; meaningful only when PopulationKnown
	PopulationKnown bool         // false rather than a misleading zero
	Geometry        orb.Geometry // orb.Polygon or orb.MultiPolygon, [lon, lat]
	Bound           orb.Bound    // of Geometry, kept to skip most containment tests
	Synthetic       bool         // built from its children, not read from the file
}

// LoadFile is Load on a file, with the path in errors since operators pass
// it by flag and need to know which file is wrong.
func LoadFile(path string, opt LoadOptions) (*Regions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load regions %s: %w", path, err)
	}
	defer f.Close()
	rs, err := Load(f, opt)
	if err != nil {
		return nil, fmt.Errorf("load regions %s: %w", path, err)
	}
	return rs, nil
}

// Load reads a GeoJSON FeatureCollection of polygons, one region per
// feature, and synthesises every missing ancestor so that any single-level
// file yields the whole hierarchy up to the province.
func Load(r io.Reader, opt LoadOptions) (*Regions, error) {
	opt = opt.withDefaults()
	var doc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	br := bufio.NewReader(r)
	if err := sniffGeoJSON(br); err != nil {
		return nil, err
	}
	if err := json.NewDecoder(br).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode GeoJSON: %w", err)
	}
	if doc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("GeoJSON type %q is not FeatureCollection: %s", doc.Type, convertHint)
	}
	regions := make([]*Region, 0, len(doc.Features))
	parentNames := make(map[*Region]map[int]string, len(doc.Features))
	seen := make(map[string]int, len(doc.Features))
	for i, raw := range doc.Features {
		f, err := geojson.UnmarshalFeature(raw)
		if err != nil {
			return nil, fmt.Errorf("feature %d: %w", i, err)
		}
		code, err := featureCode(f, opt.CodeProperty)
		if err == nil {
			err = checkCode(code)
		}
		if err != nil {
			return nil, fmt.Errorf("feature %d: %w", i, err)
		}
		reg, err := featureRegion(f, code, opt)
		if err != nil {
			return nil, fmt.Errorf("feature %d (%s): %w", i, code, err)
		}
		if j, dup := seen[reg.Code]; dup {
			return nil, fmt.Errorf("feature %d: duplicate code %q (first in feature %d)", i, reg.Code, j)
		}
		seen[reg.Code] = i
		regions = append(regions, reg)
		names := make(map[int]string)
		for level, prop := range opt.ParentNameProperties {
			if s, ok := f.Properties[prop].(string); ok && s != "" {
				names[level] = s
			}
		}
		parentNames[reg] = names
	}
	if len(regions) == 0 {
		return nil, errors.New("no features")
	}
	return build(regions, parentNames)
}

// convertHint says how to make a regions file out of another format.
const convertHint = "convert it with ogr2ogr -f GeoJSON -t_srs EPSG:4326 regions.geojson INPUT (GDAL)"

// sniffGeoJSON refuses a file that does not start as JSON, naming what it
// looks like, instead of a JSON syntax error about its first byte.
func sniffGeoJSON(br *bufio.Reader) error {
	head, _ := br.Peek(512)
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(trimmed) == 0 || trimmed[0] == '{' {
		return nil
	}
	kind := "it does not start with {"
	switch {
	case bytes.HasPrefix(trimmed, []byte("PK")):
		kind = "it is a zip archive (a zipped Shapefile or a KMZ?)"
	case bytes.HasPrefix(trimmed, []byte("SQLite format 3")):
		kind = "it is an SQLite database (a GeoPackage?)"
	case bytes.HasPrefix(head, []byte{0, 0, 0x27, 0x0a}):
		kind = "it is a Shapefile (.shp)"
	case bytes.HasPrefix(trimmed, []byte("<")):
		kind = "it is XML (KML or GML?)"
	case bytes.IndexByte(trimmed, ',') > 0 && bytes.IndexByte(trimmed, ',') < bytes.IndexByte(append(trimmed, '\n'), '\n'):
		kind = "it looks like CSV"
	}
	return fmt.Errorf("this is not GeoJSON (%s); %s", kind, convertHint)
}

// featureRegion turns one feature, whose code is already checked, into a
// region.
func featureRegion(f *geojson.Feature, code string, opt LoadOptions) (*Region, error) {
	reg := &Region{Code: code, Name: code, Level: CodeLevel(code)}
	if v, ok := f.Properties[opt.NameProperty]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("property %q is %T, not a string", opt.NameProperty, v)
		}
		if s != "" {
			reg.Name = s
		}
	}
	if opt.PopulationProperty != "" {
		if v, ok := f.Properties[opt.PopulationProperty]; ok && v != nil {
			n, err := parsePopulation(v)
			if err != nil {
				return nil, fmt.Errorf("property %q: %w", opt.PopulationProperty, err)
			}
			reg.Population, reg.PopulationKnown = n, true
		}
	}
	if err := checkGeometry(f.Geometry); err != nil {
		return nil, err
	}
	reg.Geometry = f.Geometry
	reg.Bound = f.Geometry.Bound()
	return reg, nil
}

// featureCode reads the code property, falling back to the feature id
// because many exports keep the code only there.
func featureCode(f *geojson.Feature, prop string) (string, error) {
	v, ok := f.Properties[prop]
	if !ok || v == nil {
		switch id := f.ID.(type) {
		case string:
			if id != "" {
				return id, nil
			}
		case float64:
			return strconv.FormatFloat(id, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("property %q missing", prop)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("property %q is %T, not a string (codes need their dots)", prop, v)
	}
	if s == "" {
		return "", fmt.Errorf("property %q is empty", prop)
	}
	return s, nil
}

// checkCode rejects codes whose hierarchy could not be read back.
func checkCode(code string) error {
	for _, seg := range strings.Split(code, ".") {
		if seg == "" {
			return fmt.Errorf("code %q has an empty segment", code)
		}
		for _, c := range seg {
			if c < '0' || c > '9' {
				return fmt.Errorf("code %q: segment %q is not all digits", code, seg)
			}
		}
	}
	return nil
}

// checkGeometry accepts only areas: a point or a line cannot contain a probe.
func checkGeometry(g orb.Geometry) error {
	var polys []orb.Polygon
	switch g := g.(type) {
	case nil:
		return errors.New("geometry missing")
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return fmt.Errorf("geometry %s is not Polygon or MultiPolygon", g.GeoJSONType())
	}
	if len(polys) == 0 {
		return errors.New("geometry has no polygons")
	}
	for i, p := range polys {
		if len(p) == 0 {
			return fmt.Errorf("polygon %d has no rings", i)
		}
		for j, r := range p {
			if len(r) < 4 {
				return fmt.Errorf("polygon %d ring %d has %d positions, need at least 4", i, j, len(r))
			}
		}
	}
	return nil
}

// parsePopulation accepts JSON numbers and numeric strings, because
// spreadsheets turned into GeoJSON often quote their numbers.
func parsePopulation(v any) (int64, error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case string:
		s := strings.TrimSpace(v)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if n < 0 {
				return 0, fmt.Errorf("value %q is negative", v)
			}
			return n, nil
		}
		p, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", v)
		}
		f = p
	default:
		return 0, fmt.Errorf("value %v is %T, not a number", v, v)
	}
	if f < 0 || f != math.Trunc(f) || f >= 1<<62 || math.IsNaN(f) {
		return 0, fmt.Errorf("value %v is not a whole non-negative number", v)
	}
	return int64(f), nil
}

// Parent is the code minus its last segment: the whole hierarchy rule.
func Parent(code string) string {
	i := strings.LastIndexByte(code, '.')
	if i < 0 {
		return ""
	}
	return code[:i]
}

// CodeLevel is the number of segments, which is the level in the hierarchy.
func CodeLevel(code string) int {
	if code == "" {
		return 0
	}
	return strings.Count(code, ".") + 1
}

// Ancestor returns code's ancestor at level (code itself at its own level),
// or "" when code is above that level: Ancestor("36.01.05", 2) is "36.01".
// Roll-ups need nothing else: a parent is its code minus the last segment.
func Ancestor(code string, level int) string {
	n := 0
	for i := 0; i < len(code); i++ {
		if code[i] == '.' {
			if n++; n == level {
				return code[:i]
			}
		}
	}
	if n+1 == level {
		return code
	}
	return ""
}

// Within reports whether code lies in ancestor's area, by code alone, so
// callers can filter results without loading boundaries.
func Within(code, ancestor string) bool {
	if ancestor == "" {
		return true
	}
	return code == ancestor || (len(code) > len(ancestor) && code[len(ancestor)] == '.' && code[:len(ancestor)] == ancestor)
}
