package spool

import (
	"errors"
	"fmt"
	"time"
)

// Config says where unacknowledged results are kept: the probe config's
// spool block.
type Config struct {
	// Dir defaults to jangkau-spool-<id> beside the config file (in the
	// working directory for a config parsed without a base directory).
	Dir string `yaml:"dir"`
	// MaxBytes bounds the spool file; when full the oldest results go
	// first, counted in jangkau_probe_spool_dropped_total.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxAge drops results older than this (0: no age limit).
	MaxAge time.Duration `yaml:"max_age"`
	// SyncInterval is the longest a result waits in memory before it is
	// committed and fsynced with those that came in meanwhile (default
	// 1s, at most 10s; 0 commits each result at once). A power cut loses
	// at most that much; a clean stop loses nothing.
	SyncInterval time.Duration `yaml:"sync_interval"`
}

// Validate checks the spool's bounds; the probe's Config.Validate calls
// it, and its errors name the probe config's spool keys.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("spool.dir is missing")
	case c.MaxBytes < 1<<20:
		return fmt.Errorf("spool.max_bytes (%d) must be at least 1 MiB", c.MaxBytes)
	case c.MaxAge < 0:
		return fmt.Errorf("spool.max_age (%s) must not be negative", c.MaxAge)
	case c.SyncInterval < 0 || c.SyncInterval > maxSyncInterval:
		return fmt.Errorf("spool.sync_interval (%s) must be within 0..%s", c.SyncInterval, maxSyncInterval)
	}
	return nil
}
