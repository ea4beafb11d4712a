package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
)

// testPKI is a CA made for one test, so that TLS cases need no files in
// testdata and can have any validity period, expired included.
type testPKI struct {
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	caFile string // the CA as PEM, for ca_file
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jangkau test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, key: key, caFile: caFile}
}

// leaf issues a server certificate for 127.0.0.1, ::1 and "portal.test",
// valid from notBefore to notAfter.
func (p *testPKI) leaf(t *testing.T, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "portal.test"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		DNSNames:     []string{"portal.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSOptionsBuild(t *testing.T) {
	pki := newTestPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	tests := []struct {
		name    string
		opts    *checkspec.TLSOptions
		wantErr string
	}{
		{name: "nil", opts: nil},
		{name: "full", opts: &checkspec.TLSOptions{ServerName: "portal.test", CAFile: pki.caFile, MinVersion: "TLS13"}},
		{name: "missing ca", opts: &checkspec.TLSOptions{CAFile: "/no/such/ca.pem"}, wantErr: "x.tls.ca_file: open /no/such/ca.pem"},
		{name: "not pem", opts: &checkspec.TLSOptions{CAFile: notPEM}, wantErr: "holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := buildTLS(tc.opts, "x.tls")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg == nil {
				t.Fatalf("build: %v", err)
			}
			if tc.opts != nil && (cfg.RootCAs == nil || cfg.MinVersion != tls.VersionTLS13 || cfg.ServerName != "portal.test") {
				t.Errorf("options not applied: %+v", cfg)
			}
		})
	}
}

func TestCertExpiryDays(t *testing.T) {
	now := time.Now()
	state := func(notAfter time.Time) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{NotAfter: notAfter}}}
	}
	if _, ok := certExpiryDays(nil, now); ok {
		t.Error("no TLS reported an expiry")
	}
	if d, _ := certExpiryDays(state(now.Add(36*time.Hour)), now); d != 1.5 {
		t.Errorf("36 h left = %v days, want 1.5", d)
	}
	if d, _ := certExpiryDays(state(now.Add(-time.Hour)), now); d != 0 {
		t.Errorf("expired = %v days, want 0 (the collector takes no negative phase)", d)
	}
}
