package collector

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigBad(t *testing.T) {
	tests := []struct{ file, wantErr string }{
		{"unknown-key.bad.yml", "field listen_addr not found"},
		{"bad-hash.bad.yml", `probes[0].token_sha256 must be 64 hex digits, the sha256 of the token that ` + "`jangkau token`" + ` printed; it holds 3 characters`},
		{"no-place.bad.yml", "probes[0] (a) needs a region or a location"},
		{"dup-probe.bad.yml", `probes[1].id "a" is already probes[0].id`},
		{"bad-id.bad.yml", `probes[0].id "a b"`},
		{"bad-lat.bad.yml", "probes[0].location (95, 106) is not a lat/lon in range"},
		{"bad-region.bad.yml", `probes[0].region "36..01" is not a region code`},
		{"thresholds.bad.yml", "status.degraded_below (0.3) must be within blank_below (0.5)..1"},
		{"duration.bad.yml", "soon"},
		{"tls-half.bad.yml", "tls.cert_file and tls.key_file go together"},
		{"listen.bad.yml", `listen "8080" must be host:port`},
		{"time-zone.bad.yml", `page.time_zone "WITA" is not a time zone: use an IANA name such as Asia/Jakarta (WIB), Asia/Makassar (WITA)`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := LoadConfig(filepath.Join("testdata", tc.file))
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestHashKeys: a viewer's hash is key_sha256 and a probe's token_sha256;
// the other name gets a did-you-mean, and a token pasted in place of its
// hash is refused without being shown.
func TestHashKeys(t *testing.T) {
	const token = "4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344"
	const hash = "9bb86724a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c"
	for _, tc := range []struct{ name, yaml, wantErr string }{
		{"viewer with token_sha256", "viewers: [{name: planner, token_sha256: \"" + hash + "\"}]", "viewers[0].token_sha256: field token_sha256 not found; did you mean key_sha256?"},
		{"probe with key_sha256", "probes: [{id: a, region: \"36.01\", key_sha256: \"" + hash + "\"}]", "probes[0].key_sha256: field key_sha256 not found; did you mean token_sha256?"},
		{"probe with the token pasted", "probes: [{id: a, region: \"36.01\", token_sha256: \"" + token + "\"}]", "probes[0].token_sha256 must be 64 hex digits, the sha256 of the token"},
		{"viewer with the key pasted", "viewers: [{name: planner, key_sha256: " + token + "}]", "viewers[0].key_sha256 must be 64 hex digits"},
		{"viewer without a hash", "viewers: [{name: planner}]", "viewers[0].key_sha256 is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseConfig error = %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestLoadConfigGood(t *testing.T) {
	cfg, err := LoadConfig("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	if want := filepath.Join(abs, "regions.geojson"); cfg.Regions.File != want && cfg.Regions.File != filepath.Join("testdata", "regions.geojson") {
		t.Errorf("regions.file = %q, want it relative to the config's folder", cfg.Regions.File)
	}
	if len(cfg.Probes) != 2 || cfg.Probes[0].Carrier != "telkom" || cfg.Probes[1].Location.Lat != -6.5 {
		t.Errorf("probes = %+v", cfg.Probes)
	}
	if cfg.Status.SilentAfter != 2*time.Minute || cfg.Status.BlankBelow != 0.4 {
		t.Errorf("status = %+v", cfg.Status)
	}
	// Keys the file does not set keep their defaults.
	if cfg.Status.MinSamples != DefaultConfig.Status.MinSamples || cfg.Limits != DefaultConfig.Limits {
		t.Errorf("defaults lost: %+v %+v", cfg.Status, cfg.Limits)
	}

	cfg, err = LoadConfig("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Regions.CodeProperty != "kode" || cfg.Regions.NameProperty != "nama" {
		t.Errorf("region property defaults: %+v", cfg.Regions)
	}
}
