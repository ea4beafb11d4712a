package collector

import "net/http"

// PartnerConfig is a telecom partner with an API key and the scope of data
// it may read.
// TODO(issue 7).
type PartnerConfig struct{}

func (c *Config) validatePartners() error { return nil }

// exportRoutes registers the partners' export API and OGC API - Features.
func (s *Server) exportRoutes(mux *http.ServeMux) {}
