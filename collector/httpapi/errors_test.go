package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/jangkau/jangkau/geo/tile"
)

func TestServeMapsErrors(t *testing.T) {
	storeDown := errors.New("bolt: closed")
	for _, tc := range []struct {
		name                 string
		parseErr, computeErr error
		wantCode             int
		wantBody             string
		wantUnavailable      bool
	}{
		{name: "ok", wantCode: 200, wantBody: "answer"},
		{name: "query", parseErr: Invalid("window", "soon", "window %q must be a positive duration", "soon"),
			wantCode: 400, wantBody: `window "soon" must be a positive duration`},
		{name: "wrapped query", computeErr: fmt.Errorf("tiles: %w", Invalid("z", "40", "z %q is too deep", "40")),
			wantCode: 400, wantBody: `z "40" is too deep`},
		{name: "scope", parseErr: &ScopeError{Partner: "tel", Field: "carrier", Value: "xl"},
			wantCode: 403, wantBody: `carrier "xl" is outside partner tel's scope`},
		{name: "store", computeErr: storeDown, wantCode: 503, wantBody: "coverage: store unavailable", wantUnavailable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told error
			rec := httptest.NewRecorder()
			Serve(rec, httptest.NewRequest("GET", "/", nil), "coverage", func(op string, err error) { told = err },
				func(*http.Request) (int, error) { return 1, tc.parseErr },
				func(context.Context, int) (string, error) { return "answer", tc.computeErr },
				func(w http.ResponseWriter, _ int, v string) { w.Write([]byte(v)) })
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantCode)
			}
			body := rec.Body.String()
			if tc.wantCode != 200 {
				var e map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("body %q: %v", body, err)
				}
				body = e["error"]
			}
			if body != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			if (told != nil) != tc.wantUnavailable {
				t.Errorf("unavailable told %v", told)
			}
			if tc.wantCode == 503 && rec.Header().Get("Retry-After") != "5" {
				t.Error("503 without Retry-After: 5")
			}
		})
	}
}

func TestParseTile(t *testing.T) {
	for _, tc := range []struct {
		z, x, y string
		ok      bool
	}{
		{"8", "199", "127.mvt", true},
		{"0", "0", "0.mvt", true},
		{strconv.Itoa(tile.MaxZoom), "0", "0.mvt", true},
		{strconv.Itoa(tile.MaxZoom + 1), "0", "0.mvt", false},
		{"2", "4", "0.mvt", false},
		{"2", "0", "0", false},
		{"-1", "0", "0.mvt", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetPathValue("z", tc.z)
		r.SetPathValue("x", tc.x)
		r.SetPathValue("y", tc.y)
		_, err := ParseTile(r, "/tiles/{z}/{x}/{y}.mvt")
		var qe *QueryError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &qe) || qe.Field != "tile")) {
			t.Errorf("%s/%s/%s: err %v, want ok %v", tc.z, tc.x, tc.y, err, tc.ok)
		}
	}
}

func TestLevelForZoom(t *testing.T) {
	for _, tc := range []struct {
		levels  []int
		z, want int
	}{
		{[]int{1, 2, 3, 4}, 5, 2}, {[]int{1, 2, 3, 4}, 10, 3}, {[]int{1, 2, 3, 4}, 14, 4},
		{[]int{1, 2, 3}, 14, 3}, {[]int{3, 4}, 5, 3},
	} {
		if got := LevelForZoom(tc.levels, tc.z); got != tc.want {
			t.Errorf("LevelForZoom(%v, %d) = %d, want %d", tc.levels, tc.z, got, tc.want)
		}
	}
}
