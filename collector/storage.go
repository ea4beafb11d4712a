package collector

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
)

// StorageConfig selects where results are kept: the embedded store in
// data_dir (the default), or InfluxDB when one machine is not enough.
type StorageConfig struct {
	Kind string `yaml:"kind"` // embedded (default) or influxdb
}

func (c *StorageConfig) validate() error {
	switch c.Kind {
	case "", "embedded":
		return nil
	}
	return fmt.Errorf("storage.kind %q: embedded or influxdb", c.Kind)
}

// openStore opens the configured store.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (store.Store, error) {
	return embedded.Open(cfg.DataDir)
}
