package collector

// RetentionConfig says how long raw results and rollups are kept.
// TODO(issue 5).
type RetentionConfig struct{}

func (c *RetentionConfig) validate() error { return nil }
