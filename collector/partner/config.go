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
	// RateLimit bounds the partner's requests; DefaultRateLimit when
	// absent, and for each of its keys left at zero.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Submit lets the partner submit its carriers' declared coverage
	// (claims.go); it needs Carriers, since a claim names its carrier.
	Submit bool `yaml:"submit"`
	// ClaimLimits bound one submission; DefaultClaimLimits for each key
	// left at zero.
	ClaimLimits ClaimLimits `yaml:"claim_limits"`
}

// ClaimLimits bound one claim submission: past MaxBytes of body the answer
// is 413, past MaxFeatures features or MaxVertices points in all a 400.
type ClaimLimits struct {
	MaxBytes    int64 `yaml:"max_bytes"`
	MaxFeatures int   `yaml:"max_features"`
	MaxVertices int   `yaml:"max_vertices"`
}

// DefaultClaimLimits take a province's coverage polygons of one carrier,
// per technology, as regulators receive them (a few hundred polygons,
// hundreds of thousands of points), and stop a file that would hold the
// evidence store's single writer for long.
var DefaultClaimLimits = ClaimLimits{MaxBytes: 32 << 20, MaxFeatures: 10000, MaxVertices: 2_000_000}

// withDefaults fills the keys left at zero from DefaultClaimLimits.
func (l ClaimLimits) withDefaults() ClaimLimits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultClaimLimits.MaxBytes
	}
	if l.MaxFeatures == 0 {
		l.MaxFeatures = DefaultClaimLimits.MaxFeatures
	}
	if l.MaxVertices == 0 {
		l.MaxVertices = DefaultClaimLimits.MaxVertices
	}
	return l
}

// RateLimit is one partner's token bucket: Burst requests at once, refilled
// at RequestsPerSecond. Past it the partner gets 429 with Retry-After.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

// DefaultRateLimit lets a GIS client read every collection without a 429
// and still stops a runaway one. GDAL's OAPIF driver pages 10 features at
// a time and never retries a 429: a desa layer of 1,552 features is 156
// requests back to back, plus a dozen for the landing page, the API, the
// collections and the schema, and ogr2ogr of every collection is about 250.
// A MapLibre pan asks for dozens of vector tiles at once, again at each
// stop. 500 at once covers all of that however fast the collector answers;
// 50 a second then keeps a pan going. A loop that does not wait spends the
// burst within a second and is then held to 50 a second.
var DefaultRateLimit = RateLimit{RequestsPerSecond: 50, Burst: 500}

// withDefaults fills the keys left at zero from DefaultRateLimit.
func (l RateLimit) withDefaults() RateLimit {
	if l.RequestsPerSecond == 0 {
		l.RequestsPerSecond = DefaultRateLimit.RequestsPerSecond
	}
	if l.Burst == 0 {
		l.Burst = DefaultRateLimit.Burst
	}
	return l
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
			return apikey.HashError(key+".key_sha256", p.KeySHA256)
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
		switch {
		case p.RateLimit.RequestsPerSecond < 0:
			return fmt.Errorf("%s.rate_limit.requests_per_second (%g) must be positive (omit it for the default, %g)",
				key, p.RateLimit.RequestsPerSecond, DefaultRateLimit.RequestsPerSecond)
		case p.RateLimit.Burst < 0:
			return fmt.Errorf("%s.rate_limit.burst (%d) must be at least 1 (omit it for the default, %d)",
				key, p.RateLimit.Burst, DefaultRateLimit.Burst)
		}
		switch {
		case p.Submit && len(p.Carriers) == 0:
			return fmt.Errorf("%s.submit needs %s.carriers: a claim names its carrier, and the partner may submit only for the carriers listed", key, key)
		case p.ClaimLimits.MaxBytes < 0:
			return fmt.Errorf("%s.claim_limits.max_bytes (%d) must be positive (omit it for the default, %d)", key, p.ClaimLimits.MaxBytes, DefaultClaimLimits.MaxBytes)
		case p.ClaimLimits.MaxFeatures < 0:
			return fmt.Errorf("%s.claim_limits.max_features (%d) must be positive (omit it for the default, %d)", key, p.ClaimLimits.MaxFeatures, DefaultClaimLimits.MaxFeatures)
		case p.ClaimLimits.MaxVertices < 0:
			return fmt.Errorf("%s.claim_limits.max_vertices (%d) must be positive (omit it for the default, %d)", key, p.ClaimLimits.MaxVertices, DefaultClaimLimits.MaxVertices)
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
