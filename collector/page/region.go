package page

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/region"
)

var regionPage = template.Must(template.New("region").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Row.Name}} ({{.Row.Code}}) — {{.T.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0.8em 1.5em; color: {{.Colours.Text}}; background: {{.Colours.Background}}; }
a { color: {{.Colours.Link}}; }
a:focus-visible { outline: 3px solid {{.Colours.Focus}}; outline-offset: 2px; }
.disputed { font-weight: 600; }
.sw { display: inline-block; width: 0.95em; height: 0.95em; vertical-align: -0.1em; margin-right: 0.35em; border: 1px solid {{.Colours.Swatch}}; }
dt { font-weight: 600; } dd { margin: 0 0 0.4em 0; }
</style>
</head>
<body>
<nav aria-label="{{.Words.Up}}"><a href="{{.Map}}">{{.T.Title}}</a>{{with .Parent}} › <a href="{{.URL}}">{{.Label}}</a>{{end}}</nav>
<h1>{{.Row.Name}} <small>({{.Row.Code}}, {{.Level}})</small></h1>
<dl id="region" data-code="{{.Row.Code}}">
<dt>{{.T.StatusCol}}</dt><dd><span class="sw" style="background:{{.Row.Colour}}"></span>{{.Row.Status}}</dd>
{{with .Row.Since}}<dt>{{$.T.Since}}</dt><dd>{{.}}</dd>{{end}}
{{with .Row.Why}}<dt>{{$.T.Why}}</dt><dd>{{.}}</dd>{{end}}
<dt>{{.T.Measured}}</dt><dd>{{.Row.Measured}}</dd>
<dt>{{.T.Population}}</dt><dd>{{.Row.Population}}</dd>
<dt>{{.T.Affected}}</dt><dd>{{.Row.Affected}}</dd>
<dt>{{.T.Availability}}</dt><dd>{{.Row.Availability}} ({{.Row.Samples}} {{.T.Samples}})</dd>
<dt>{{.T.LastSeen}}</dt><dd>{{.Row.LastSeen}}</dd>
<dt>{{.T.Trend}}</dt><dd id="trend7">{{.Row.Trend}}</dd>
<dt>{{.T.Trend30}}</dt><dd id="trend30">{{.Row.Trend30}}</dd>
<dt>{{.Evidence.W.Col}}</dt><dd id="evidence"{{if .Row.Disputed}} class="disputed"{{end}}>{{.Row.Evidence}}</dd>
</dl>
{{with .Evidence.Disputes}}<h2>{{$.Evidence.W.DisputesHead}}</h2>
<ul id="disputes">{{range .}}<li data-code="{{.Code}}" data-carrier="{{.Carrier}}" data-tech="{{.Tech}}">{{.Name}} ({{.Code}}): {{.Text}}</li>{{end}}</ul>{{end}}
{{if .Children}}<h2>{{.Words.Children}}</h2>
<ul id="children">{{range .Children}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>{{end}}
</body>
</html>
`))

// regionWords are the region page's own words.
type regionWords struct{ Up, Children string }

var regionLabels = map[string]regionWords{
	"id": {Up: "wilayah induk", Children: "Wilayah di dalamnya"},
	"en": {Up: "parent region", Children: "Regions within"},
}

// regionLink is the URL of code's own page, keeping the page's filters.
func regionLink(link func(key, value string) string, code string) string {
	return link("region", code)
}

// link is one region named on another's page.
type link struct{ URL, Label string }

// serveRegion serves GET /?region=CODE: one region of any level, its
// figures, since when and why, and its 7- and 30-day trend, computed for
// that region only, with links to its parent and children.
func (s *Page) serveRegion(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("region")
	rg := s.r.Regions().Get(code)
	if rg == nil {
		httpapi.Error(w, http.StatusNotFound, "region "+code+": no such region in regions.file; use a code the map lists, such as "+
			firstCode(s.r.Regions()))
		return
	}
	parse := func(r *http.Request) (httpapi.View, error) {
		q, err := httpapi.ParseView(r, s.r.Now(), s.r.Regions(), rg.Level)
		q.Level = rg.Level
		return q, err
	}
	compute := func(ctx context.Context, q httpapi.View) (view, error) {
		v, err := s.compute(ctx, q, false, true)
		if err != nil {
			return v, err
		}
		v.trend, err = s.trend(ctx, q, rg.Code)
		return v, err
	}
	httpapi.Serve(w, r, "map", s.r.StoreFailed, parse, compute, func(w http.ResponseWriter, q httpapi.View, v view) {
		s.writeRegion(w, r, rg, v)
	})
}

func (s *Page) writeRegion(w http.ResponseWriter, r *http.Request, rg *region.Region, v view) {
	lang := r.URL.Query().Get("lang")
	if lang != "en" {
		lang = "id"
	}
	t := pageLabels[lang]
	f := formats[lang].in(s.r.TimeZone())
	rs := s.r.Regions()
	to := pageLink(r.URL.Query())
	d := struct {
		T        labels
		Words    regionWords
		Lang     string
		Colours  Palette
		Row      Row
		Level    string
		Map      string
		Parent   *link
		Children []link
		Evidence evidenceData
	}{T: t, Words: regionLabels[lang], Lang: lang, Colours: colours, Level: t.levelName(rg.Level)}
	ew := evidenceLabels[lang]
	for i := range v.cells {
		if c := &v.cells[i]; c.Region.Code == rg.Code {
			d.Row = s.row(c, v, t, f, s.r.Engine().Thresholds(), s.r.Now(), rs.Deepest())
			d.Row.Evidence, d.Row.Disputed = rowEvidence(c, v, ew, f, t, rs.Deepest())
		}
	}
	d.Evidence = evidenceData{W: ew, Shown: true, Disputes: disputeRows(v.evidence, rs, rg.Code, ew, f, nil)}
	q := r.URL.Query()
	q.Del("region")
	q.Set("level", strconv.Itoa(rg.Level)) // the map of the region's level
	d.Map = pageLink(q)("region", "")
	if p := rs.Get(region.Parent(rg.Code)); p != nil {
		d.Parent = &link{regionLink(to, p.Code), p.Name + " (" + p.Code + ")"}
	}
	for _, c := range rs.Level(rg.Level + 1) {
		if strings.HasPrefix(c.Code, rg.Code+".") && region.Parent(c.Code) == rg.Code {
			d.Children = append(d.Children, link{regionLink(to, c.Code), c.Name + " (" + c.Code + ")"})
		}
	}
	var page strings.Builder
	if err := regionPage.Execute(&page, d); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.Revalidated(w, r, "text/html; charset=utf-8", []byte(page.String()))
}

// firstCode is an example code for the 404's message.
func firstCode(rs *region.Regions) string {
	if top := rs.Level(rs.Levels()[0]); len(top) > 0 {
		return top[0].Code
	}
	return "a Kemendagri code"
}
