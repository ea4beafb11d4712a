package partner

import (
	"errors"
	"testing"

	"github.com/jangkau/jangkau/collector/httpapi"
)

func TestPageLimit(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 100, false},
		{"1", 1, false},
		{"10000", 10000, false},
		{"10001", 10000, false}, // clamped, as OGC API - Features says
		{"99999999999", 10000, false},
		{"0", 0, true},
		{"-5", 0, true},
		{"ten", 0, true},
	} {
		got, err := pageLimit(tc.in, 100, 10000)
		var qe *httpapi.QueryError
		if tc.wantErr != (err != nil) || (err != nil && (!errors.As(err, &qe) || qe.Field != "limit")) || got != tc.want {
			t.Errorf("pageLimit(%q) = %d, %v; want %d, error %v (on field limit)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPropertyFilterTypes(t *testing.T) {
	for _, tc := range []struct {
		p      ogcProperty
		value  string
		v      any
		match  bool
		badArg bool
	}{
		{propSamples, "3", 3, true, false},
		{propSamples, "3.0", 3, true, false},
		{propSamples, "4", 3, false, false},
		{propAvail, "0.5", realNumber(0.5), true, false},
		{propAvail, "1", realNumber(1), true, false},
		{propP50, "", nil, true, false}, // empty is null
		{propP50, "", realNumber(12), false, false},
		{propP50, "12", nil, false, false},
		{propSamples, "many", nil, false, true},
		{prop("population_estimated", "boolean", ""), "true", true, true, false},
		{prop("population_estimated", "boolean", ""), "false", true, false, false},
		{prop("population_estimated", "boolean", ""), "maybe", nil, false, true},
		{propStatus, "blank", "blank", true, false},
		{propStatus, "blank", "good", false, false},
		{prop("people_affected", "integer", ""), "12000000", int64(12000000), true, false},
	} {
		f, err := newPropertyFilter(tc.p, tc.value)
		if tc.badArg {
			var qe *httpapi.QueryError
			if !errors.As(err, &qe) || qe.Field != tc.p.name {
				t.Errorf("%s=%q: error %v, want a QueryError on %s", tc.p.name, tc.value, err, tc.p.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s=%q: %v", tc.p.name, tc.value, err)
		}
		if got := f.match(tc.v); got != tc.match {
			t.Errorf("%s=%q on %#v: %v, want %v", tc.p.name, tc.value, tc.v, got, tc.match)
		}
	}
}

// Every property a feature carries is in its collection's schema, and the
// other way round, so that no field is typed from the data.
func TestSchemaCoversProperties(t *testing.T) {
	cols := map[string][]string{
		"regions":    httpapi.RegionColumns,
		"tiles":      httpapi.TileColumns[:len(httpapi.TileColumns)-1], // without wkt
		"blankspots": blankspotColumns[:len(blankspotColumns)-1],
	}
	for name, c := range map[string]ogcCollectionInfo{"regions": {id: "regions-2", level: 2}, "tiles": {id: "tiles"}, "blankspots": {id: "blankspots"}} {
		var got []string
		for _, p := range ogcSchema(c) {
			got = append(got, p.name)
		}
		if len(got) != len(cols[name]) {
			t.Errorf("%s: schema %v, properties %v", name, got, cols[name])
			continue
		}
		for i := range got {
			if got[i] != cols[name][i] {
				t.Errorf("%s: schema property %d is %s, the feature's is %s", name, i, got[i], cols[name][i])
			}
		}
	}
}
