package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
)

// qgisLayer is what clients/qgis_check.py says of one layer.
type qgisLayer struct {
	Valid                bool
	Count, Invalid, Null int
	Fields               map[string]string // name -> QVariant type name
}

// TestQGIS opens everything a partner opens in QGIS 3.22, headless, with a
// Basic auth config holding the partner key: every OGC collection (OAPIF),
// the partner vector tiles (xyz), and the GeoJSON and CSV exports (ogr).
func TestQGIS(t *testing.T) {
	c := startCollector(t)
	py := debianPython(t, "qgis.core", "qgis python3-qgis")
	dir := t.TempDir()
	cols := c.collections(t)
	var res struct {
		Layers map[string]qgisLayer
		Tiles  struct {
			Valid  bool
			Pixels []string
		}
		Files    map[string]qgisLayer
		Messages []string
		Error    string
	}
	runClient(t, 10*time.Minute, []string{"QGIS_AUTH_DB_DIR_PATH=" + dir}, map[string]any{
		"base": c.base, "key": c.partners["qgis"], "collections": cols, "points": pandeglangPoints(c),
		"blank":   coverage.StatusBlank.Colour(),
		"geojson": download(t, c, "/api/v1/export/coverage?level=3", filepath.Join(dir, "coverage.geojson")),
		"csv":     download(t, c, "/api/v1/export/coverage?format=csv&level=3", filepath.Join(dir, "coverage.csv")),
	}, &res, py, "qgis_check.py")
	if res.Error != "" {
		t.Fatalf("QGIS script: %s", res.Error)
	}
	defer func() {
		if t.Failed() {
			t.Logf("QGIS messages (the first 15 of %d):\n%s", len(res.Messages), strings.Join(res.Messages[:min(15, len(res.Messages))], "\n"))
		}
	}()
	for _, id := range cols {
		got := res.Layers[id]
		all := c.ogcFeatures(t, id, "")
		t.Logf("QGIS OAPIF %s: valid %v, %d features, %d invalid", id, got.Valid, got.Count, got.Invalid)
		// QGIS 3.22 reads no schema: it types an OAPIF layer's fields with
		// OGR from the first items?limit=10 page (QgsOapifProvider::init).
		checkQGISLayer(t, "OAPIF layer "+id, got, len(all), strings.HasPrefix(id, "regions-"), numbersIn(all[:min(10, len(all))]))
	}
	level3 := c.ogcFeatures(t, "regions-3", "")
	// A file is typed from all its rows.
	checkQGISLayer(t, "GeoJSON export (ogr)", res.Files["geojson"], len(level3), true, numbersIn(level3))
	checkQGISLayer(t, "CSV export (ogr, GEOM_POSSIBLE_NAMES=wkt)", res.Files["csv"], len(level3), true, numbersIn(level3))

	if !res.Tiles.Valid {
		t.Errorf("QGIS cannot open the partner vector tiles (xyz provider)")
	}
	for i, px := range res.Tiles.Pixels {
		if !strings.EqualFold(px, coverage.StatusBlank.Colour()) {
			t.Errorf("QGIS draws the partner vector tiles with %s at Pandeglang point %v, want the blank colour %s (tiles not loaded with the Basic auth config?)",
				px, pandeglangPoints(c)[i], coverage.StatusBlank.Colour())
		}
	}
}

// numbersIn names the properties that hold a number in at least one of
// features: what a client that types fields from values can know.
func numbersIn(features []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, f := range features {
		for k, v := range f {
			if _, ok := v.(float64); ok {
				out[k] = true
			}
		}
	}
	return out
}

// checkQGISLayer checks what QGIS read of a layer. A numeric field must be
// a number wherever the values QGIS typed it from held a number (evidence);
// where they were all null, QGIS 3.22 cannot know (it reads no schema, a
// newer QGIS does), which is logged rather than failed.
func checkQGISLayer(t *testing.T, what string, got qgisLayer, want int, regions bool, evidence map[string]bool) {
	t.Helper()
	if !got.Valid {
		t.Errorf("QGIS cannot open the %s", what)
		return
	}
	if got.Count != want {
		t.Errorf("QGIS reads %d features from the %s, the API holds %d", got.Count, what, want)
	}
	if got.Invalid+got.Null > 0 {
		t.Errorf("%s: QGIS (GEOS) finds %d of %d geometries invalid and %d null", what, got.Invalid, got.Count, got.Null)
	}
	for _, f := range numericFields {
		typ, ok := got.Fields[f]
		switch {
		case !ok && regions:
			t.Errorf("%s: no field %s in %v", what, f, got.Fields)
		case ok && typ != "double" && typ != "int" && typ != "qlonglong" && !evidence[f]:
			t.Logf("%s: QGIS types %s as %s; every value it typed it from is null, and QGIS 3.22 reads no schema", what, f, typ)
		case ok && typ != "double" && typ != "int" && typ != "qlonglong":
			t.Errorf("%s: QGIS types %s as %s though it read numbers for it, want a number", what, f, typ)
		}
	}
}
