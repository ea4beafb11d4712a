//go:build !probeonly

package main

import "github.com/jangkau/jangkau/collector/store/embedded"

// storeTool is `jangkau store`: the collector's embedded store.
func storeTool() *fileTool {
	return &fileTool{
		name: "store", dirFlag: "data", dirHelp: "the collector's data `dir` (data_dir)",
		dirOf: func(config string) (string, error) {
			cfg, err := loadCollectorConfig(config)
			if err != nil {
				return "", err
			}
			return cfg.DataDir, nil
		},
		check: embedded.Check, salvage: embedded.Salvage,
	}
}
