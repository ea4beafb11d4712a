package region

import (
	"strings"
	"testing"
)

// TestLoadNotGeoJSON: a regions file in another format says so and how to
// convert it, instead of "invalid character 'k' looking for beginning of
// value".
func TestLoadNotGeoJSON(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"csv", "kode,nama\n36.01,Pandeglang\n", "this is not GeoJSON (it looks like CSV); convert it with ogr2ogr -f GeoJSON"},
		{"kml", "<?xml version=\"1.0\"?><kml></kml>", "this is not GeoJSON (it is XML (KML or GML?)); convert it with ogr2ogr"},
		{"zip", "PK\x03\x04rest", "a zipped Shapefile or a KMZ"},
		{"geopackage", "SQLite format 3\x00", "a GeoPackage"},
		{"topojson", `{"type":"Topology","objects":{}}`, `GeoJSON type "Topology" is not FeatureCollection: convert it with ogr2ogr`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.in), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
