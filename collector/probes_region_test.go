package collector

import (
	"strings"
	"testing"
)

// TestProbeRegionMustExist: a probe's region code must be in the regions
// file exactly; a typo under a valid province used to be accepted and the
// probe counted only for the province. The error names the code and the
// nearest codes the file has.
func TestProbeRegionMustExist(t *testing.T) {
	regions := fixtureRegions(t) // 99.01.01, 99.01.02, 99.02.01 and their parents
	for _, tc := range []struct {
		region  string
		wantErr []string
	}{
		{region: "99.01.01"},
		{region: "99.01"},
		{region: "99.09.01", wantErr: []string{`probes[0].region "99.09.01" of p is not in the regions file`, "nearest codes it has are 99.02.01, 99.01.01, 99.01.02"}},
		{region: "99.01.03", wantErr: []string{`"99.01.03"`, "nearest codes it has are 99.01.02, 99.01.01, 99.02.01"}},
		{region: "99.01.01.2001", wantErr: []string{"no regions of level 4; its deepest level is 3"}},
		{region: "98", wantErr: []string{`"98"`, "nearest codes it has are 99"}},
	} {
		t.Run(tc.region, func(t *testing.T) {
			_, err := newRegistry([]ProbeConfig{{ID: "p", TokenSHA256: hash("t"), Region: tc.region}}, regions, 14)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("region %s accepted, want an error", tc.region)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
