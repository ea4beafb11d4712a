package collector

import "net/http"

// ServiceConfig is one entry of the catalogue of e-service checks that the
// collector hands out to probes.
// TODO(issue 3): name, kind, target, interval, options, region prefixes.
type ServiceConfig struct{}

func (c *Config) validateServices() error { return nil }

// handleSelfChecks answers a probe (by its token) with its checks.
func (s *Server) handleSelfChecks(w http.ResponseWriter, r *http.Request) {
	httpError(w, http.StatusNotFound, "no catalogue yet")
}
