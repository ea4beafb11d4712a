package probe

// AllowConfig bounds what checks may target, so that a compromised
// collector cannot turn probes against district networks.
// TODO(issue 3): CIDRs and host patterns.
type AllowConfig struct{}

func (a *AllowConfig) validate() error { return nil }
