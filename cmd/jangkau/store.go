//go:build !probeonly

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/collector/store/influx"
)

// openStore opens the store the config chooses: the embedded one in
// data_dir unless storage.kind is influxdb.
func openStore(ctx context.Context, cfg *collector.Config, log *slog.Logger) (store.Store, error) {
	if cfg.Storage.Kind != "influxdb" {
		return embedded.Open(cfg.DataDir, cfg.Retention.StoreOption(log))
	}
	c := cfg.Storage.InfluxDB
	st, err := influx.Open(ctx, influx.Config{URL: c.URL, Token: c.Token, Org: c.Org, Bucket: c.Bucket,
		Precision: c.PrecisionDuration(), Timeout: c.Timeout, CollectorID: c.CollectorID, ChangePoll: c.ChangePoll},
		log.With("store", "influxdb"))
	if err != nil {
		return nil, fmt.Errorf("storage.influxdb: %w", err)
	}
	log.Info("storing in InfluxDB", "url", c.URL, "bucket", c.Bucket)
	return st, nil
}
