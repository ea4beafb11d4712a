package probe

import "context"

// CatalogueConfig says whether and how often the probe fetches its checks
// from the collector.
// TODO(issue 3): fetch, cache on disk, merge with local checks.
type CatalogueConfig struct{}

// Enabled reports whether the probe takes checks from the collector.
func (c *CatalogueConfig) Enabled() bool { return false }

func (c *CatalogueConfig) validate() error { return nil }

// runCatalogue keeps the scheduled checks in step with the collector's
// catalogue until ctx ends.
func (p *Probe) runCatalogue(ctx context.Context) {}
