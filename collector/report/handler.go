package report

import (
	"context"
	"net/http"

	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/page"
)

// request is a report asked for over HTTP.
type request struct {
	period Period
	lang   string
}

// Handler serves GET /report?period=YYYY-MM&lang=id|en: the HTML
// report, this month's without a period. A period that is not YYYY-MM is
// a 400 naming it; the caller puts the viewer's auth in front.
func Handler(r page.Reader) http.HandlerFunc {
	parse := func(req *http.Request) (request, error) {
		v := req.URL.Query()
		s := v.Get("period")
		if s == "" {
			s = r.Now().In(r.TimeZone()).Format("2006-01")
		}
		p, err := ParsePeriod(s, r.TimeZone())
		if err != nil {
			return request{}, httpapi.Invalid("period", s, "%s", err.Error())
		}
		return request{p, page.Lang(v.Get("lang"))}, nil
	}
	build := func(ctx context.Context, q request) ([]byte, error) { return Build(ctx, r, q.period, q.lang) }
	return func(w http.ResponseWriter, req *http.Request) {
		httpapi.Serve(w, req, "report", r.StoreFailed, parse, build, func(w http.ResponseWriter, _ request, doc []byte) {
			httpapi.Revalidated(w, req, "text/html; charset=utf-8", doc)
		})
	}
}
