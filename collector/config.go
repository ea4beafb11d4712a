package collector

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/page"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/strictyaml"
)

// Config is collector.yaml. Every key is documented in the README.
type Config struct {
	Listen  string        `yaml:"listen"`
	DataDir string        `yaml:"data_dir"`
	Regions RegionsConfig `yaml:"regions"`
	Probes  []ProbeConfig `yaml:"probes"`
	// Viewers may read coverage, probes, the map page and metrics.
	Viewers []ViewerConfig `yaml:"viewers"`
	// PublicRead serves those to anyone: for the demo and closed networks.
	PublicRead bool                `yaml:"public_read"`
	TLS        TLSConfig           `yaml:"tls"`
	Status     coverage.Thresholds `yaml:"status"`
	Limits     LimitsConfig        `yaml:"limits"`
	// Services is the catalogue of e-service checks handed out to probes.
	Services []ServiceConfig `yaml:"services"`
	// Clock says how far a probe's clock may be off.
	Clock ClockConfig `yaml:"clock"`
	Tiles TilesConfig `yaml:"tiles"`
	// Storage selects the store; Retention says how long data is kept.
	Storage   StorageConfig   `yaml:"storage"`
	Retention RetentionConfig `yaml:"retention"`
	// Metrics bounds the per-region series on /metrics.
	Metrics MetricsConfig `yaml:"metrics"`
	// Partners may read the export API within their scope.
	Partners []partner.Config `yaml:"partners"`
	// CORS lists the origins whose pages may read the collector from the
	// browser (cors.go).
	CORS CORSConfig `yaml:"cors"`
	// Page sets the map page: the time zone it shows times in.
	Page page.Config `yaml:"page"`
}

// TilesConfig sets the map tiles results are binned into.
type TilesConfig struct {
	// Zoom of the finest tiles kept; coarser ones are derived.
	Zoom int `yaml:"zoom"`
	// ShapeCacheBytes bounds the memory that keeps the region borders of
	// vector tiles between requests (simplified and made valid once per
	// tile); 0 makes them on every request.
	ShapeCacheBytes int64 `yaml:"shape_cache_bytes"`
}

// RegionsConfig says where the boundaries are and which properties mean what.
type RegionsConfig struct {
	File               string `yaml:"file"`
	CodeProperty       string `yaml:"code_property"`
	NameProperty       string `yaml:"name_property"`
	PopulationProperty string `yaml:"population_property"`
	// PopulationCSV joins population figures by code: a CSV file with a
	// header naming the columns "code" and "population".
	PopulationCSV string `yaml:"population_csv"`
}

// Location is a WGS84 point.
type Location struct {
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`
}

// ProbeConfig registers one probe.
type ProbeConfig struct {
	ID          string    `yaml:"id"`
	TokenSHA256 string    `yaml:"token_sha256"`
	Region      string    `yaml:"region"`
	Location    *Location `yaml:"location"`
	Carrier     string    `yaml:"carrier"`
}

// ViewerConfig is a reader of the collector's data.
type ViewerConfig struct {
	Name      string `yaml:"name"`
	KeySHA256 string `yaml:"key_sha256"`
	// Import lets this viewer import evidence files
	// (POST /api/v1/evidence/layers/{id}); default false, read only.
	Import bool `yaml:"import"`
}

// TLSConfig turns on HTTPS; with ClientCAFile, clients must present a
// certificate signed by it.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// LimitsConfig bounds what one request may cost.
type LimitsConfig struct {
	// MaxBodyBytes bounds the compressed body of an ingest request.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDecodedBytes bounds it once decompressed (a gzip bomb stops here).
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	// MaxDecodedInFlightBytes bounds the decoded bytes of all ingest
	// requests being read at once; a request that would pass it is
	// answered 503 with Retry-After, and its probe sends it again later.
	// What a request holds in memory is a small multiple of what it has
	// read, so this bounds what concurrent batches cost the collector.
	MaxDecodedInFlightBytes int64 `yaml:"max_decoded_in_flight_bytes"`
	// MaxSeqGap bounds how far a batch's first_seq may lie above the
	// probe's acked_seq: how many seqs one batch may settle as lost
	// (store.DefaultMaxGap explains the default). A batch past it is
	// refused with 400 and nothing of it is stored.
	MaxSeqGap uint64 `yaml:"max_seq_gap"`
	// MaxResults bounds the results of one batch.
	MaxResults int `yaml:"max_results"`
	// ProbeRequestsPerSecond and ProbeBurst bound each probe's request
	// rate; past them the collector answers 429 with Retry-After.
	ProbeRequestsPerSecond float64 `yaml:"probe_requests_per_second"`
	ProbeBurst             int     `yaml:"probe_burst"`
	// MaxUnknownNamesPerProbe bounds the distinct check names, and apart
	// the distinct e-service names, that one probe may send beyond the
	// catalogue's (its local checks); further ones are stored as "other"
	// (ingest_names.go), so that no free text from a probe makes series.
	MaxUnknownNamesPerProbe int `yaml:"max_unknown_names_per_probe"`
	// MaxEvidenceBytes bounds one evidence file's upload
	// (DefaultMaxEvidenceBytes says why its default); past it, 413.
	MaxEvidenceBytes int64 `yaml:"max_evidence_bytes"`
}

// DefaultConfig is applied before decoding, so a file sets only what differs.
var DefaultConfig = Config{
	Listen:  "127.0.0.1:8080",
	DataDir: "./jangkau-data",
	Regions: RegionsConfig{CodeProperty: "kode", NameProperty: "nama"},
	Status:  coverage.DefaultThresholds,
	Tiles:   TilesConfig{Zoom: tile.DefaultZoom, ShapeCacheBytes: httpapi.DefaultShapeCacheBytes},
	Clock:   DefaultClockConfig,
	// Retention: see retention.go for the defaults and why.
	Retention: DefaultRetentionConfig,
	Page:      page.DefaultConfig,
	Limits: LimitsConfig{
		MaxBodyBytes:    4 << 20,
		MaxDecodedBytes: 32 << 20,
		MaxResults:      10000,
		// Eight batches of the largest size at once, hundreds of usual
		// ones (a batch of 1,000 results is about 300 KB).
		MaxDecodedInFlightBytes: 256 << 20,
		MaxSeqGap:               100_000_000, // store.DefaultMaxGap, which says why

		ProbeRequestsPerSecond: 20,
		ProbeBurst:             40,
		// A probe's local checks are a handful; a hundred is room for
		// any real probe.yaml and still a bounded series count.
		MaxUnknownNamesPerProbe: 100,
		MaxEvidenceBytes:        DefaultMaxEvidenceBytes,
	},
}

// ParseConfig decodes a config strictly: unknown keys are errors. Relative
// paths in it are taken from baseDir.
func ParseConfig(data []byte, baseDir string) (*Config, error) {
	cfg := DefaultConfig
	cfg.Probes, cfg.Viewers, cfg.Services, cfg.Partners = nil, nil, nil, nil
	if err := strictyaml.Decode(data, &cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for _, p := range []*string{&cfg.DataDir, &cfg.Regions.File, &cfg.Regions.PopulationCSV, &cfg.TLS.CertFile, &cfg.TLS.KeyFile, &cfg.TLS.ClientCAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// LoadConfig reads and parses a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfig(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks the fields against each other; errors name key and value.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen %q must be host:port: %w", c.Listen, err)
	}
	if c.DataDir == "" {
		return errors.New("data_dir must not be empty")
	}
	if c.Regions.CodeProperty == "" || c.Regions.NameProperty == "" {
		return errors.New("regions.code_property and regions.name_property must not be empty")
	}
	seen := map[string]int{}
	for i, p := range c.Probes {
		key := fmt.Sprintf("probes[%d]", i)
		switch {
		case !apikey.ValidName(p.ID):
			return fmt.Errorf("%s.id %q must be 1-64 of A-Z a-z 0-9 . _ -", key, p.ID)
		case !apikey.ValidHash(p.TokenSHA256):
			return apikey.HashError(key+".token_sha256", p.TokenSHA256)
		case p.Region == "" && p.Location == nil:
			return fmt.Errorf("%s (%s) needs a region or a location", key, p.ID)
		case p.Region != "" && !httpapi.ValidRegionCode(p.Region):
			return fmt.Errorf("%s.region %q is not a region code like 36.01.05", key, p.Region)
		}
		if p.Location != nil {
			if err := checkLocation(*p.Location); err != nil {
				return fmt.Errorf("%s.location %w", key, err)
			}
		}
		if j, dup := seen[p.ID]; dup {
			return fmt.Errorf("%s.id %q is already probes[%d].id", key, p.ID, j)
		}
		seen[p.ID] = i
	}
	for i, v := range c.Viewers {
		if v.Name == "" {
			return fmt.Errorf("viewers[%d].name must not be empty", i)
		}
		if !apikey.ValidHash(v.KeySHA256) {
			return apikey.HashError(fmt.Sprintf("viewers[%d].key_sha256", i), v.KeySHA256)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls.cert_file and tls.key_file go together")
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		return errors.New("tls.client_ca_file needs tls.cert_file and tls.key_file")
	}
	if _, err := c.Page.Location(); err != nil {
		return err
	}
	if err := c.Status.Validate(); err != nil {
		return fmt.Errorf("status.%w", err)
	}
	switch {
	case c.Limits.MaxBodyBytes < 1024:
		return fmt.Errorf("limits.max_body_bytes (%d) must be at least 1024", c.Limits.MaxBodyBytes)
	case c.Limits.MaxDecodedBytes < c.Limits.MaxBodyBytes:
		return fmt.Errorf("limits.max_decoded_bytes (%d) must be at least limits.max_body_bytes (%d)", c.Limits.MaxDecodedBytes, c.Limits.MaxBodyBytes)
	case c.Limits.MaxDecodedInFlightBytes < c.Limits.MaxDecodedBytes:
		return fmt.Errorf("limits.max_decoded_in_flight_bytes (%d) must be at least limits.max_decoded_bytes (%d)", c.Limits.MaxDecodedInFlightBytes, c.Limits.MaxDecodedBytes)
	case c.Limits.MaxSeqGap < 1:
		return fmt.Errorf("limits.max_seq_gap (%d) must be at least 1", c.Limits.MaxSeqGap)
	case c.Limits.MaxResults < 1:
		return fmt.Errorf("limits.max_results (%d) must be at least 1", c.Limits.MaxResults)
	case c.Limits.ProbeRequestsPerSecond <= 0:
		return fmt.Errorf("limits.probe_requests_per_second (%g) must be positive", c.Limits.ProbeRequestsPerSecond)
	case c.Limits.MaxUnknownNamesPerProbe < 0:
		return fmt.Errorf("limits.max_unknown_names_per_probe (%d) must be 0 or more (0: every name outside the catalogue is stored as \"other\")", c.Limits.MaxUnknownNamesPerProbe)
	case c.Limits.ProbeBurst < 1:
		return fmt.Errorf("limits.probe_burst (%d) must be at least 1", c.Limits.ProbeBurst)
	case c.Limits.MaxEvidenceBytes < 1024:
		return fmt.Errorf("limits.max_evidence_bytes (%d) must be at least 1024", c.Limits.MaxEvidenceBytes)
	}
	if c.Tiles.Zoom < 1 || c.Tiles.Zoom > 20 {
		return fmt.Errorf("tiles.zoom (%d) must be within 1..20", c.Tiles.Zoom)
	}
	if c.Tiles.ShapeCacheBytes < 0 {
		return fmt.Errorf("tiles.shape_cache_bytes (%d) must be 0 (no cache) or more", c.Tiles.ShapeCacheBytes)
	}
	if err := c.Clock.validate(); err != nil {
		return err
	}
	for _, v := range []interface{ validate() error }{&c.Storage, &c.Retention, &c.Metrics, &c.CORS} {
		if err := v.validate(); err != nil {
			return err
		}
	}
	if err := partner.Validate(c.Partners); err != nil {
		return err
	}
	return c.validateServices()
}

func checkLocation(l Location) error {
	if l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return fmt.Errorf("(%g, %g) is not a lat/lon in range", l.Lat, l.Lon)
	}
	return nil
}
