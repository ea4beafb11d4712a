package collector

import (
	"fmt"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/region"
)

// ServiceConfig is one entry of the catalogue of e-service checks that the
// collector hands out to probes: a probe check, written as in probe.yaml,
// and which probes should run it.
type ServiceConfig struct {
	checkspec.CheckConfig `yaml:",inline"`
	// Regions are Kemendagri code prefixes ("36.01"): a probe standing in
	// one of them, or below, runs the check. Empty: every probe.
	Regions []string `yaml:"regions,omitempty"`
	// Carriers, when set, limit the check to probes on those uplinks
	// (compared without regard to case).
	Carriers []string `yaml:"carriers,omitempty"`
}

// validateServices validates each entry as a probe will take it, a
// central check (checkspec's ValidateCentral: no file options, since a
// file on the collector's host is not on the probe's, and the interval
// floor), so that a check no probe can run fails the collector's load
// rather than every probe. It also holds the whole list to the per-host
// rate a probe allows (checkspec.MaxHostRate), as if one probe ran every
// entry: stricter than needed when regions or carriers split the list,
// never looser. It fills what an entry leaves unset (interval, timeout,
// service = name), so that probes receive explicit checks.
func (c *Config) validateServices() error {
	seen := make(map[string]int, len(c.Services))
	var load checkspec.HostLoad
	for i := range c.Services {
		s := &c.Services[i]
		key := fmt.Sprintf("services[%d]", i)
		if s.Service == "" {
			s.Service = s.Name
		}
		s.ApplyDefaults()
		if err := s.CheckConfig.ValidateCentral(); err != nil {
			return checkspec.Under(key, err)
		}
		if err := load.Admit(s.CheckConfig); err != nil {
			return checkspec.Under(key, err)
		}
		if j, dup := seen[s.Name]; dup {
			return fmt.Errorf("%s.name %q is already services[%d].name", key, s.Name, j)
		}
		seen[s.Name] = i
		for j, r := range s.Regions {
			if !httpapi.ValidRegionCode(r) {
				return fmt.Errorf("%s.regions[%d] %q is not a region code prefix like 36.01", key, j, r)
			}
		}
		for j, cr := range s.Carriers {
			if strings.TrimSpace(cr) == "" {
				return fmt.Errorf("%s.carriers[%d] must not be empty", key, j)
			}
		}
	}
	return nil
}

// covers reports whether probe p should run the service.
func (sc *ServiceConfig) covers(p *placedProbe) bool {
	if len(sc.Regions) > 0 {
		in := false
		for _, r := range sc.Regions {
			in = in || region.Within(p.Region, r)
		}
		if !in {
			return false
		}
	}
	if len(sc.Carriers) == 0 {
		return true
	}
	for _, cr := range sc.Carriers {
		if p.Carrier != "" && strings.EqualFold(cr, p.Carrier) {
			return true
		}
	}
	return false
}

// catalogueFor is the YAML document of p's checks, in config order.
func (s *Server) catalogueFor(p *placedProbe) ([]byte, error) {
	doc := checkspec.CatalogueDoc{Checks: []checkspec.CheckConfig{}}
	for i := range s.cfg.Services {
		if sc := &s.cfg.Services[i]; sc.covers(p) {
			doc.Checks = append(doc.Checks, sc.CheckConfig)
		}
	}
	return yaml.Marshal(doc)
}

// handleSelfChecks answers a probe (by its token) with its checks. The
// ETag is a hash of the body, so a probe polling with If-None-Match gets
// an empty 304 until its list changes.
func (s *Server) handleSelfChecks(w http.ResponseWriter, r *http.Request) {
	id, ok := s.probes.tokens.Match(apikey.FromRequest(r))
	if !ok {
		s.refused.note(s.log, r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="jangkau probes"`)
		httpapi.Error(w, http.StatusUnauthorized, "unknown probe token")
		return
	}
	body, err := s.catalogueFor(s.probes.byID[id])
	if err != nil {
		s.log.Error("encode catalogue", "probe", id, "err", err)
		httpapi.Error(w, http.StatusInternalServerError, "encode catalogue")
		return
	}
	etag := checkspec.CatalogueETag(body)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(body)
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
