package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiClient reads the collector's API through the proxy in the core
// namespace.
type apiClient struct{ hc *http.Client }

func (a apiClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://collector"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func (a apiClient) getJSON(ctx context.Context, path string, v any) error {
	body, err := a.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// windowQuery is the from/to of a past window.
func windowQuery(from, to time.Time) string {
	return "from=" + url.QueryEscape(from.UTC().Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(to.UTC().Format(time.RFC3339Nano))
}

// regionProps are the properties of a coverage feature the lab reads.
type regionProps struct {
	Code           string   `json:"code"`
	Name           string   `json:"name"`
	Status         string   `json:"status"`
	Samples        int      `json:"samples"`
	Availability   *float64 `json:"availability"`
	Loss           *float64 `json:"loss"`
	P50            *float64 `json:"latency_p50_ms"`
	P95            *float64 `json:"latency_p95_ms"`
	Population     *int64   `json:"population"`
	PopEstimated   bool     `json:"population_estimated"`
	PeopleAffected int64    `json:"people_affected"`
}

// coverage is GET /api/v1/coverage at a level, by region code; raw is the
// GeoJSON as served.
func (a apiClient) coverage(ctx context.Context, level int, query string) (map[string]regionProps, []byte, error) {
	body, err := a.get(ctx, fmt.Sprintf("/api/v1/coverage?level=%d&%s", level, query))
	if err != nil {
		return nil, nil, err
	}
	var fc struct {
		Features []struct {
			Properties regionProps `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		return nil, nil, err
	}
	out := map[string]regionProps{}
	for _, f := range fc.Features {
		out[f.Properties.Code] = f.Properties
	}
	return out, body, nil
}

// probeState is one entry of GET /api/v1/probes.
type probeState struct {
	ID            string     `json:"id"`
	Region        string     `json:"region"`
	LastSeen      *time.Time `json:"last_seen"`
	LastSeq       uint64     `json:"last_seq"`
	AckedSeq      uint64     `json:"acked_seq"`
	ResultsStored uint64     `json:"results_stored"`
	Lost          uint64     `json:"lost"`
}

func (a apiClient) probes(ctx context.Context) (map[string]probeState, error) {
	var list struct {
		Probes []probeState `json:"probes"`
	}
	if err := a.getJSON(ctx, "/api/v1/probes", &list); err != nil {
		return nil, err
	}
	out := map[string]probeState{}
	for _, p := range list.Probes {
		out[p.ID] = p
	}
	return out, nil
}

// servicesView is GET /api/v1/services.
type servicesView struct {
	Cells []struct {
		Service      string   `json:"service"`
		Region       string   `json:"region"`
		Name         string   `json:"name"`
		Samples      int      `json:"samples"`
		Availability *float64 `json:"availability"`
	} `json:"cells"`
	Outages []struct {
		Service string    `json:"service"`
		From    time.Time `json:"from"`
		To      time.Time `json:"to"`
	} `json:"outages"`
}

// metrics reads a Prometheus text exposition into name{labels} → value.
func metrics(ctx context.Context, hc *http.Client) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://probe/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// metric finds the first series of name whose labels contain every one of
// labels (each as `key="value"`).
func metric(m map[string]float64, name string, labels ...string) (float64, bool) {
	for k, v := range m {
		base, rest, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
				break
			}
		}
		if ok {
			return v, true
		}
	}
	return 0, false
}
