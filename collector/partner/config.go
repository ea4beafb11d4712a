package partner

import (
	"fmt"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/region"
)

// Config is a telecom partner with an API key and the scope of data
// it may read. Empty lists mean everything.
type Config struct {
	Name      string `yaml:"name"`
	KeySHA256 string `yaml:"key_sha256"`
	// Carriers are the carriers whose results the partner may read.
	Carriers []string `yaml:"carriers"`
	// Regions are region code prefixes ("36.01" is the kabupaten and
	// everything in it).
	Regions []string `yaml:"regions"`
	// Raw lets the partner read raw results, not only aggregates.
	Raw bool `yaml:"raw"`
}

// Validate checks the partners: key, a name of its own, carriers and
// region prefixes. Its errors name the key, as partners[i].name.
func Validate(partners []Config) error {
	names := map[string]int{}
	for i, p := range partners {
		key := fmt.Sprintf("partners[%d]", i)
		switch {
		case !apikey.ValidName(p.Name):
			return fmt.Errorf("%s.name %q must be 1-64 of A-Z a-z 0-9 . _ -", key, p.Name)
		case !apikey.ValidHash(p.KeySHA256):
			return fmt.Errorf("%s.key_sha256 %q must be 64 hex digits (sha256 of the key)", key, p.KeySHA256)
		}
		if j, dup := names[p.Name]; dup {
			return fmt.Errorf("%s.name %q is already partners[%d].name", key, p.Name, j)
		}
		names[p.Name] = i
		for j, carrier := range p.Carriers {
			if carrier == "" {
				return fmt.Errorf("%s.carriers[%d] must not be empty", key, j)
			}
		}
		for j, r := range p.Regions {
			if !httpapi.ValidRegionCode(r) {
				return fmt.Errorf("%s.regions[%d] %q is not a region code prefix like 36.01", key, j, r)
			}
		}
	}
	return nil
}

// withinAny says whether code lies inside one of prefixes; none is all.
func withinAny(code string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if region.Within(code, p) {
			return true
		}
	}
	return false
}
