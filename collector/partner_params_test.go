package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every paging, size and position parameter of the OGC API, the exports,
// the raw results and the viewer API, given the values that overflow an
// int or a float, is answered 200 or 400: never a panic, never 500.
func TestPagingParametersNeverOverflow(t *testing.T) {
	f := newExportFixture(t)
	values := []string{"9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
		"99999999999999999999999", "-1", "0", "1e308", "NaN", "0x10", " 1", "1.5", "Inf"}
	paths := []struct{ path, key, param string }{
		{"/ogc/collections/regions-3/items?limit=2", keyAll, "offset"},
		{"/ogc/collections/regions-3/items?offset=1", keyAll, "limit"},
		{"/ogc/collections/tiles/items?limit=1", keyAll, "offset"},
		{"/ogc/collections/probes/items?limit=1", keyAll, "offset"},
		{"/ogc/collections/blankspots/items?limit=1", keyAll, "offset"},
		{"/ogc/collections/regions-3/items?limit=1", keyAll, "samples"},
		{"/api/v1/export/results?window=6h", keyAll, "limit"},
		{"/api/v1/export/results?window=6h&format=csv", keyAll, "limit"},
		{"/api/v1/export/tiles?format=csv", keyAll, "z"},
		{"/api/v1/export/coverage?format=csv", keyAll, "level"},
		{"/api/v1/export/blankspots?format=csv", keyAll, "level"},
		{"/api/v1/coverage?format=csv", "view-key", "level"},
	}
	for _, p := range paths {
		for _, v := range values {
			path := p.path + "&" + p.param + "=" + url.QueryEscape(v)
			t.Run(path, func(t *testing.T) {
				code, body := f.try(path, p.key)
				want := map[int]bool{200: true, 400: true}
				if p.param == "limit" && strings.Trim(v, "0123456789") == "" && v != "0" {
					want = map[int]bool{200: true} // a larger limit is the maximum, not an error
				}
				if !want[code] {
					t.Errorf("%d: %.300s", code, body)
				}
			})
		}
	}
	// Windows and cursors at the edges of time.Duration and time.Time.
	for _, q := range []string{"window=2562047h", "window=2562048h", "window=-1h",
		"from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", "from=9999-12-31T23:59:59Z&to=0001-01-01T00:00:00Z",
		"cursor=AQ", "cursor=Af__________________________", "cursor=" + strings.Repeat("A", 4096)} {
		for _, base := range []string{"/api/v1/export/results?format=csv", "/api/v1/export/coverage?level=3", "/ogc/collections/regions-3/items?limit=1"} {
			path := base + "&" + q
			if strings.HasPrefix(q, "cursor") && !strings.Contains(base, "results") {
				continue
			}
			t.Run(path, func(t *testing.T) {
				if code, body := f.try(path, keyAll); code != 200 && code != 400 {
					t.Errorf("%d: %.300s", code, body)
				}
			})
		}
	}
	// Path parameters: a tile's z, x and y, and a feature id.
	for _, v := range []string{"9223372036854775807", "18446744073709551616", "-1", "4294967296"} {
		for _, path := range []string{
			fmt.Sprintf("/api/v1/export/tiles/%s/1/1.mvt", v), fmt.Sprintf("/api/v1/export/tiles/10/%s/1.mvt", v),
			fmt.Sprintf("/api/v1/export/tiles/10/1/%s.mvt", v), "/ogc/collections/tiles/items/" + v,
			"/ogc/collections/regions-" + v + "/items", fmt.Sprintf("/tiles/%s/1/1.mvt", v),
		} {
			t.Run(path, func(t *testing.T) {
				key := keyAll
				if strings.HasPrefix(path, "/tiles/") {
					key = "view-key"
				}
				code, body := f.try(path, key)
				if code >= 500 || code == 0 || code == 401 {
					t.Errorf("%d: %.300s", code, strings.TrimSpace(body))
				}
			})
		}
	}
}

// try GETs path with key: status 0 and the error when the connection
// broke (a panic without a recover breaks it).
func (f *fixture) try(path, key string) (int, string) {
	req, _ := http.NewRequest("GET", f.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}
