package collector

// ClockConfig bounds how far a result's time may be from the collector's.
// TODO(issue 4): the documented rule, offset estimate and metric.
type ClockConfig struct{}

func (c *ClockConfig) validate() error { return nil }
