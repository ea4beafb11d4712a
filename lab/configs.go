package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// writeCert makes a self-signed certificate for the internet namespace's
// HTTPS e-services; probes trust it through their ca_file.
func writeCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "jangkau lab e-services"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP(inetAddr)},
		DNSNames:              []string{"*." + strings.TrimSuffix(labZone, ".")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "targets-cert.pem"), filepath.Join(dir, "targets-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// newToken returns a random probe token and its sha256 in hex.
func newToken() (token, sum string) {
	b := make([]byte, 24)
	rand.Read(b)
	token = hex.EncodeToString(b)
	s := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(s[:])
}

// labProbe is one probe the lab runs, with what its configs need.
type labProbe struct {
	ID, Region, NS, Addr string
	Token, TokenSHA      string
	Dir                  string // its config, token and spool
	Metrics              string // unix socket of its /metrics proxy
}

// writeCollectorConfig writes the collector's config: it listens in the
// core namespace, with the scenario's status rules and every lab probe.
func writeCollectorConfig(path string, sc *Scenario, listen, regions, dataDir string, probes []*labProbe) error {
	var ps []map[string]any
	for _, p := range probes {
		ps = append(ps, map[string]any{"id": p.ID, "token_sha256": p.TokenSHA, "region": p.Region, "carrier": "lab"})
	}
	reg := map[string]any{"file": regions}
	if sc.PopulationCSV != "" {
		reg["population_csv"] = sc.PopulationCSV
	}
	cfg := map[string]any{
		"listen":      listen,
		"data_dir":    dataDir,
		"regions":     reg,
		"public_read": true, // the lab is a closed network
		"status":      sc.Collector.Status,
		"probes":      ps,
		// Many probes uploading at once must not be throttled by the lab.
		"limits": map[string]any{"probe_requests_per_second": 50, "probe_burst": 100},
	}
	return writeYAML(path, cfg)
}

// writeProbeConfig writes one probe's config: its checks point at the
// internet namespace, its uploads at the collector in the core namespace.
func writeProbeConfig(p *labProbe, sc *Scenario, caFile, targetHost, collector, metricsListen string) (string, error) {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return "", err
	}
	tokenFile := filepath.Join(p.Dir, "token")
	if err := os.WriteFile(tokenFile, []byte(p.Token+"\n"), 0o600); err != nil {
		return "", err
	}
	ports := map[string]ServiceSpec{}
	for _, s := range sc.Services {
		ports[s.Name] = s
	}
	var checks []map[string]any
	for _, c := range sc.Probe.Checks {
		m := map[string]any{"name": c.Name, "kind": c.Kind, "interval": c.Interval.String(), "timeout": c.Timeout.String()}
		switch c.Kind {
		case "icmp":
			m["target"] = targetHost
			icmp := map[string]any{}
			if c.Count > 0 {
				icmp["count"] = c.Count
			}
			if c.PingInterval > 0 {
				icmp["interval"] = c.PingInterval.String()
			}
			m["icmp"] = icmp
		case "dns":
			m["target"] = c.Name + "." + strings.TrimSuffix(labZone, ".")
			m["dns"] = map[string]any{"server": net.JoinHostPort(targetHost, "53")}
		case "http":
			s := ports[c.Service]
			scheme := "http"
			h := map[string]any{"fail_if_body_not_matches": []string{"Layanan"}}
			if s.TLS {
				scheme = "https"
				h["tls"] = map[string]any{"ca_file": caFile}
			}
			m["target"] = fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(targetHost, fmt.Sprint(s.Port)))
			m["service"] = c.Service
			m["http"] = h
		}
		checks = append(checks, m)
	}
	cfg := map[string]any{
		"id":         p.ID,
		"collector":  "http://" + collector + "/",
		"token_file": tokenFile,
		"spool":      map[string]any{"dir": filepath.Join(p.Dir, "spool")},
		"upload":     map[string]any{"interval": sc.Probe.UploadInterval.String(), "batch_size": 1000, "timeout": sc.Probe.UploadTimeout.String()},
		"checks":     checks,
	}
	if metricsListen != "" {
		cfg["metrics_listen"] = metricsListen
	}
	path := filepath.Join(p.Dir, "probe.yaml")
	return path, writeYAML(path, cfg)
}

func writeYAML(path string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
