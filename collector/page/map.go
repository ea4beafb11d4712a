// Package page is the collector's map page: a server-drawn SVG map of
// coverage with its legend, filters and blank-spot list, in Indonesian or
// English. It reads the collector only through Reader.
package page

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/region"
)

//go:embed map.html
var mapPageHTML string

var mapPage = template.Must(template.New("map").Funcs(template.FuncMap{
	"pct": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	},
	"ms": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	},
	"people": func(n int64) string { return groupDigits(n) },
	"since": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
}).Parse(mapPageHTML))

// choice is one option of a switch on the page (level, window, filters).
type choice struct {
	Label   string
	URL     string
	Current bool
}

type legendEntry struct {
	Status coverage.Status
	Label  string
	Colour string
	Count  int
}

type mapPageData struct {
	T                   labels
	Lang                string
	Banner              string
	Title               string
	Langs               []choice
	Levels              []choice
	Windows             []choice
	Services            []choice
	Carriers            []choice
	From, To            time.Time
	SVG                 template.HTML
	Legend              []legendEntry
	Rows                []coverage.RegionCell
	Blank               []coverage.RegionCell // blank and silent, most people first
	PeopleAffected      int64
	PopulationEstimated bool
	StatusLabel         map[coverage.Status]string
	RefreshAfter        int
}

// Reader is what the map page reads of the collector.
type Reader interface {
	// Now is the collector's clock.
	Now() time.Time
	// Regions are the boundaries the map draws.
	Regions() *region.Regions
	// RegionCells computes a region level of a view over every carrier
	// and region.
	RegionCells(ctx context.Context, q httpapi.View) ([]coverage.RegionCell, error)
	// ProbeSites are the registered probes, drawn where they stand.
	ProbeSites() []httpapi.ProbeSite
	// Banner is shown on top of the page (the demo says it simulates).
	Banner() string
	// ServiceNames are the e-services the filter offers.
	ServiceNames() []string
	// StoreFailed logs and counts a failure of the store before its 503.
	StoreFailed(op string, err error)
}

// Page serves the map page.
type Page struct{ r Reader }

// New is the map page over r.
func New(r Reader) *Page { return &Page{r: r} }

// ServeHTTP serves GET /.
func (s *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parse := func(r *http.Request) (httpapi.View, error) {
		return httpapi.ParseView(r, s.r.Now(), s.r.Regions(), s.r.Regions().Deepest())
	}
	httpapi.Serve(w, r, "map", s.r.StoreFailed, parse, s.r.RegionCells,
		func(w http.ResponseWriter, q httpapi.View, cells []coverage.RegionCell) { s.write(w, r, q, cells) })
}

// write draws the page of cells.
func (s *Page) write(w http.ResponseWriter, r *http.Request, q httpapi.View, cells []coverage.RegionCell) {
	lang := r.URL.Query().Get("lang")
	if lang != "en" {
		lang = "id"
	}
	t := pageLabels[lang]
	d := mapPageData{T: t, Lang: lang, Banner: s.r.Banner(), From: q.From, To: q.To, Rows: cells,
		RefreshAfter: 15, StatusLabel: t.Status}
	if top := s.r.Regions().Level(1); len(top) == 1 {
		d.Title = top[0].Name
	}
	link := pageLink(r.URL.Query())
	for _, l := range []string{"id", "en"} {
		d.Langs = append(d.Langs, choice{pageLabels[l].Name, link("lang", l), l == lang})
	}
	for _, l := range s.r.Regions().Levels() {
		d.Levels = append(d.Levels, choice{t.levelName(l), link("level", strconv.Itoa(l)), l == q.Level})
	}
	window := r.URL.Query().Get("window")
	if window == "" {
		window = "15m"
	}
	for _, wn := range []string{"15m", "1h", "6h", "24h", "168h"} {
		d.Windows = append(d.Windows, choice{wn, link("window", wn), wn == window})
	}
	d.Services = append(d.Services, choice{t.All, link("service", ""), q.Service == ""})
	for _, sv := range s.r.ServiceNames() {
		d.Services = append(d.Services, choice{sv, link("service", sv), sv == q.Service})
	}
	d.Carriers = append(d.Carriers, choice{t.All, link("carrier", ""), q.Carrier == ""})
	for _, c := range carrierNames(s.r.ProbeSites()) {
		d.Carriers = append(d.Carriers, choice{c, link("carrier", c), c == q.Carrier})
	}

	byCode := map[string]*coverage.RegionCell{}
	counts := map[coverage.Status]int{}
	regions := make([]*region.Region, len(cells))
	for i := range cells {
		c := &cells[i]
		byCode[c.Region.Code] = c
		regions[i] = c.Region
		counts[c.Status]++
		d.PeopleAffected += c.PeopleAffected
		if c.Status == coverage.StatusBlank || c.Status == coverage.StatusSilent {
			d.Blank = append(d.Blank, *c)
			d.PopulationEstimated = d.PopulationEstimated || c.PopulationEstimated
		}
	}
	sort.SliceStable(d.Blank, func(i, j int) bool { return d.Blank[i].Population > d.Blank[j].Population })
	for _, st := range coverage.Statuses {
		d.Legend = append(d.Legend, legendEntry{st, t.Status[st], st.Colour(), counts[st]})
	}
	var points []draw.SVGPoint
	for _, p := range s.r.ProbeSites() {
		if p.Location != nil {
			points = append(points, draw.SVGPoint{Lat: p.Location.Lat(), Lon: p.Location.Lon(), Label: "probe " + p.ID, Colour: "#000"})
		}
	}
	var svg bytes.Buffer
	err := draw.WriteSVG(&svg, regions, draw.SVGOptions{
		Fill: func(r *region.Region) string { return byCode[r.Code].Status.Colour() },
		Title: func(r *region.Region) string {
			c := byCode[r.Code]
			return fmt.Sprintf("%s %s: %s, %d %s, %s %s", r.Code, r.Name, t.Status[c.Status], c.Samples, t.Samples,
				t.Availability, pctString(c.Availability))
		},
		Href: func(r *region.Region) string {
			if r.Level < s.r.Regions().Deepest() {
				return link("level", strconv.Itoa(r.Level+1))
			}
			return ""
		},
		Points: points,
	})
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	d.SVG = template.HTML(svg.String()) // draw.WriteSVG escapes every text it writes
	var page bytes.Buffer
	if err := mapPage.Execute(&page, d); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
}

// pageLink returns a function that builds this page's URL with one
// parameter changed, keeping the others.
func pageLink(q url.Values) func(key, value string) string {
	return func(key, value string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		if value == "" {
			v.Del(key)
		} else {
			v.Set(key, value)
		}
		return "/?" + v.Encode()
	}
}

func pctString(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// carrierNames are the carriers of the probes, for the filter.
func carrierNames(sites []httpapi.ProbeSite) []string {
	seen := map[string]bool{}
	for _, p := range sites {
		if p.Carrier != "" {
			seen[p.Carrier] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// groupDigits writes 1437046 as 1,437,046.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
