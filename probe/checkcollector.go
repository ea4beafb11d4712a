package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
)

// CollectorStatus is what `jangkau check` found of the collector: whether
// it answered, whether its certificate verified (https only), and whether
// it accepted the probe's token.
type CollectorStatus struct {
	URL       string `json:"collector"`
	OK        bool   `json:"ok"`
	Reachable bool   `json:"reachable"`
	// TLS is "verified", "failed" or "" for plain http.
	TLS string `json:"tls,omitempty"`
	// Token is "accepted", "refused" or "" when the collector was not
	// asked (it could not be reached, or answered something else).
	Token      string  `json:"token,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Error says what failed and what to fix; never the token.
	Error string `json:"error,omitempty"`
}

// CheckCollector asks the collector for this probe's catalogue
// (GET /api/v1/probes/self/checks, which needs the probe's token and
// stores nothing) and reports what it learned. It uses the client the
// probe uploads with: the same roots or ca_file, no redirects.
func CheckCollector(ctx context.Context, cfg *Config) CollectorStatus {
	st := CollectorStatus{URL: cfg.Collector}
	client, err := collectorClient(cfg)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	client.Timeout = min(cfg.Upload.Timeout, 15*time.Second)
	u := strings.TrimSuffix(cfg.Collector, "/") + checkspec.CataloguePath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	req.Header.Set("Authorization", "Bearer "+cfg.BearerToken())
	req.Header.Set("User-Agent", check.UserAgent)
	start := time.Now()
	resp, err := client.Do(req)
	st.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	https := strings.HasPrefix(strings.ToLower(cfg.Collector), "https:")
	if err != nil {
		msg, reached := collectorFailure(err, cfg.Collector)
		st.Reachable = reached
		if https && reached {
			st.TLS = "failed"
		}
		st.Error = msg
		return st
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	st.Reachable = true
	if https {
		st.TLS = "verified"
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusNotModified:
		st.Token, st.OK = "accepted", true
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		st.Token = "refused"
		st.Error = fmt.Sprintf("token refused (%s): the collector has no probe whose token_sha256 is the sha256 of this probe's token; paste the line `jangkau token --out FILE` printed into that probe's entry in collector.yaml, or use the token file that goes with it", resp.Status)
	case code == http.StatusBadRequest && strings.Contains(string(body), "HTTPS server"):
		st.Error = fmt.Sprintf("collector %q is http but the port speaks https: write https:// in collector", cfg.Collector)
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		st.Error = fmt.Sprintf("%s answered %s: no jangkau collector (of this version or later) at this URL; check the address and path in collector", u, resp.Status)
	default:
		st.Error = fmt.Sprintf("collector answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return st
}

// collectorFailure explains an error of a request to the collector:
// what happened and what to fix. reached is true when something answered
// at the address (the failure came after the connection).
func collectorFailure(err error, collector string) (msg string, reached bool) {
	var (
		verr    *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		dnsErr  *net.DNSError
		opErr   *net.OpError
		redir   *redirectError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Sprintf("collector %q is https but the port speaks plain http: write http:// in collector, or give the collector tls.cert_file and tls.key_file", collector), true
	case errors.As(err, &redir):
		return redir.Error(), true
	case errors.As(err, &verr), errors.As(err, &unknown), errors.As(err, &host):
		return fmt.Sprintf("the collector's TLS certificate is not verified: %v; give the probe ca_file with the CA that signed it, or fix the name in collector", err), true
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("collector %q: the host name does not resolve (%v): check collector", collector, dnsErr), false
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("collector %q is not reachable: %v; is the collector running and listening there, and does a firewall let this server through?", collector, opErr.Err), false
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("collector %q did not answer in time: %v", collector, err), false
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Sprintf("collector %q: %v", collector, err), false
}

// misconfigured reports whether a request to the collector failed in a
// way that retrying will not heal: https against a plain-http port, or a
// certificate the probe cannot verify.
func misconfigured(err error) bool {
	var (
		verr    *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
	)
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &verr) || errors.As(err, &unknown) || errors.As(err, &host)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// WriteCollectorStatus writes st after `jangkau check`'s table: one line,
// or with asJSON one JSON object.
func WriteCollectorStatus(w io.Writer, st CollectorStatus, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(st)
	}
	result := "ok"
	if !st.OK {
		result = "FAIL"
	}
	parts := []string{yesNo(st.Reachable, "reachable", "not reachable")}
	switch st.TLS {
	case "verified":
		parts = append(parts, "TLS verified")
	case "failed":
		parts = append(parts, "TLS not verified")
	default:
		parts = append(parts, "plain http")
	}
	if st.Token != "" {
		parts = append(parts, "token "+st.Token)
	} else if st.Reachable {
		parts = append(parts, "token not checked")
	}
	_, err := fmt.Fprintf(w, "\nCOLLECTOR  %s  %s  %.2f ms  %s\n", st.URL, result, st.DurationMS, strings.Join(parts, ", "))
	if err == nil && st.Error != "" {
		_, err = fmt.Fprintf(w, "  %s\n", st.Error)
	}
	return err
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
