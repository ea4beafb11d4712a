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
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/region"
)

//go:embed map.html
var mapPageHTML string

var mapPage = template.Must(template.New("map").Parse(mapPageHTML))

// choice is one option of a switch on the page (level, window, filters).
type choice struct {
	Label   string
	URL     string
	Current bool
}

// LegendEntry is one status of the legend with its count of regions.
type LegendEntry struct {
	Label  string
	Colour string
	Count  int
}

// Row is one region as the page writes it: every figure already in the
// page's language.
type Row struct {
	Code, Name, Status, Colour             string
	Blank                                  bool // blank or silent
	Since, Why                             string
	Samples, Availability, Loss, P50, P95  string
	Probes, LastSeen, Population, Affected string
	Measured                               string
	Link                                   string        // the region's own page; none on paper
	Share                                  string        // Measured above the deepest level, for the summary
	Trend, Trend30                         template.HTML // 7 and 30 days
	// Evidence is what every source says of the region, in words: the
	// desa's findings and disputes, or a count of the desa within.
	Evidence string
	// Disputed says a carrier's claim in the region is disputed.
	Disputed   bool
	population int64
}

type mapPageData struct {
	Snapshot      // the map, summary and rows, which the report prints too
	T             labels
	Lang          string
	Banner        string
	Colours       Palette
	Langs         []choice
	Levels        []choice
	Windows       []choice
	Services      []choice
	Carriers      []choice
	RefreshAfter  int
	HasTrend      bool
	Better, Worse []string // since last week, on the province and kabupaten pages
	ReportURL     string   // this month's printable report
	Evidence      evidenceData
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
	// Engine and Rollups give the services view (why a region fails) and
	// the rows blank streaks are read from (since when).
	Engine() *coverage.Engine
	Rollups() coverage.Feed
	// TimeZone is the zone the page shows times in (page.time_zone).
	TimeZone() *time.Location
	// ProbeSites are the registered probes, drawn where they stand.
	ProbeSites() []httpapi.ProbeSite
	// Banner is shown on top of the page (the demo says it simulates).
	Banner() string
	// ServiceNames are the e-services the filter offers.
	ServiceNames() []string
	// StoreFailed logs and counts a failure of the store before its 503.
	StoreFailed(op string, err error)
	// RegionEvidence summarizes the evidence of every desa over the
	// view's window (evidence.Combine's verdict, findings and disputes).
	RegionEvidence(ctx context.Context, q httpapi.View) ([]evidence.Summary, error)
}

// Page serves the map page.
type Page struct{ r Reader }

// New is the map page over r.
func New(r Reader) *Page { return &Page{r: r} }

// view is what the page computes: the level's cells, why they fail and
// since when their blank streaks run.
type view struct {
	cells    []coverage.RegionCell
	services *coverage.ServicesView
	since    map[string]time.Time
	trend    map[string][]day // levels up to trendMaxLevel
	// better and worse are the regions whose status changed since last
	// week, on the pages of levels up to trendMaxLevel.
	better, worse []Change
	// evidence are the desa's summaries by code, when the page shows
	// evidence (nil otherwise); mode is the evidence switch.
	evidence map[string]*evidence.Summary
	mode     string
}

// ServeHTTP serves GET /.
func (s *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("region") {
		s.serveRegion(w, r)
		return
	}
	mode := r.URL.Query().Get("evidence")
	if !validMode(mode) {
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("evidence %q: leave it out for the measured map, or use all or disputed", mode))
		return
	}
	parse := func(r *http.Request) (httpapi.View, error) {
		return httpapi.ParseView(r, s.r.Now(), s.r.Regions(), s.r.Regions().Deepest())
	}
	compute := func(ctx context.Context, q httpapi.View) (view, error) {
		// The measured map is today's map: it reads no evidence, so that its
		// refresh every 15 s costs what it did.
		v, err := s.compute(ctx, q, true, mode != modeMeasured)
		v.mode = mode
		return v, err
	}
	httpapi.Serve(w, r, "map", s.r.StoreFailed, parse, compute,
		func(w http.ResponseWriter, q httpapi.View, v view) { s.write(w, r, q, v) })
}

// compute reads the view; withTrend adds the trend and the week's
// changes to the levels up to trendMaxLevel, withEvidence the desa's
// evidence summaries.
func (s *Page) compute(ctx context.Context, q httpapi.View, withTrend, withEvidence bool) (view, error) {
	cells, err := s.r.RegionCells(ctx, q)
	if err != nil {
		return view{}, err
	}
	v := view{cells: cells}
	if withEvidence {
		sums, err := s.r.RegionEvidence(ctx, q)
		if err != nil {
			return view{}, err
		}
		v.evidence = evidenceFor(sums)
	}
	if withTrend && q.Level <= trendMaxLevel {
		if v.trend, err = s.trend(ctx, q, ""); err != nil {
			return view{}, err
		}
		week := q.Query
		week.From, week.To = q.To.Add(-7*24*time.Hour), q.To
		if v.better, v.worse, err = s.Changes(ctx, week, week.From.Add(-7*24*time.Hour), week.From); err != nil {
			return view{}, err
		}
	}
	blank := map[string]bool{}
	for _, c := range cells {
		if c.Status == coverage.StatusBlank {
			blank[c.Region.Code] = true
		}
	}
	if len(blank) == 0 {
		return v, nil
	}
	if v.services, err = s.r.Engine().Services(ctx, s.r.Rollups(), q.Level, q.Query); err != nil {
		return view{}, err
	}
	v.since, err = coverage.BlankSince(ctx, s.r.Rollups(), s.r.Engine().Thresholds(), q.Query, func(c rollup.Cell) []string {
		if code := region.Ancestor(c.Region, q.Level); blank[code] {
			return []string{code}
		}
		return nil
	})
	return v, err
}

// write draws the page of cells.
func (s *Page) write(w http.ResponseWriter, r *http.Request, q httpapi.View, v view) {
	lang := r.URL.Query().Get("lang")
	if lang != "en" {
		lang = "id"
	}
	t := pageLabels[lang]
	link := pageLink(r.URL.Query())
	d, err := s.figures(q, v, lang, link)
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	d.RefreshAfter = 15
	d.ReportURL = "/report?" + url.Values{"period": {s.r.Now().In(s.r.TimeZone()).Format("2006-01")}, "lang": {lang}}.Encode()
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
	ew := evidenceLabels[lang]
	for i, m := range evidenceModes {
		d.Evidence.Switch = append(d.Evidence.Switch, choice{[]string{ew.Measured, ew.All, ew.Disputed}[i], link("evidence", m), m == v.mode})
	}
	var page bytes.Buffer
	if err := mapPage.Execute(&page, d); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.Revalidated(w, r, "text/html; charset=utf-8", page.Bytes())
}

// figures writes the view's figures, summary and map in lang; link is
// the URL of a region's next level (nil: the map links nowhere, as on
// paper).
func (s *Page) figures(q httpapi.View, v view, lang string, link func(key, value string) string) (mapPageData, error) {
	t := pageLabels[lang]
	f := formats[lang].in(s.r.TimeZone())
	now := s.r.Now()
	if q.To.Before(now) { // a past window (a month's report) writes its dates as of its end
		now = q.To
	}
	th := s.r.Engine().Thresholds()
	deepest := s.r.Regions().Deepest()
	d := mapPageData{T: t, Lang: lang, Banner: s.r.Banner(), Colours: colours, HasTrend: v.trend != nil,
		Snapshot: Snapshot{From: f.when(q.From, now), To: f.when(q.To, now), Rules: t.rules(th, f.pct)},
		Better:   changeTexts(v.better, t), Worse: changeTexts(v.worse, t)}
	if top := s.r.Regions().Level(1); len(top) == 1 {
		d.Title = top[0].Name
	}

	byCode := map[string]*coverage.RegionCell{}
	counts := map[coverage.Status]int{}
	regions := make([]*region.Region, len(v.cells))
	var affected int64
	var affectedUnknown int
	ew := evidenceLabels[lang]
	onMap := v.evidence != nil && v.mode != modeMeasured && q.Level == deepest
	d.Evidence = evidenceFigures(v, s.r.Regions(), ew, f, t, onMap, link)
	for i := range v.cells {
		c := &v.cells[i]
		byCode[c.Region.Code] = c
		regions[i] = c.Region
		counts[c.Status]++
		affected += c.PeopleAffected
		affectedUnknown += c.AffectedUnknown
		rw := s.row(c, v, t, f, th, now, deepest)
		if link != nil {
			rw.Link = regionLink(link, c.Region.Code)
		}
		rw.Evidence, rw.Disputed = rowEvidence(c, v, ew, f, t, deepest)
		if v.mode != modeDisputed || rw.Disputed {
			d.Rows = append(d.Rows, rw)
		}
		if rw.Blank {
			d.Blank = append(d.Blank, rw)
			d.Estimated = d.Estimated || c.PopulationEstimated
		}
	}
	sort.SliceStable(d.Blank, func(i, j int) bool { return d.Blank[i].population > d.Blank[j].population })
	people := peopleText(f, t, affected, affectedUnknown)
	if len(d.Blank) > 0 {
		d.BlankHead = t.regions(f.int(int64(len(d.Blank))), len(d.Blank) != 1) + ", " + people + " " + t.PeopleAffected +
			" (" + t.OnlyMeasured + ")"
	} else {
		p := ""
		if affected > 0 || affectedUnknown > 0 {
			p = people
		}
		d.NoneBlank = t.noneBlank(t.levelName(q.Level), t.levelName(deepest), p)
	}
	for _, st := range coverage.Statuses {
		d.Legend = append(d.Legend, LegendEntry{t.Status[st], st.Colour(), counts[st]})
	}
	var points []draw.SVGPoint
	for _, p := range s.r.ProbeSites() {
		if p.Location != nil {
			points = append(points, draw.SVGPoint{Lat: p.Location.Lat(), Lon: p.Location.Lon(), Label: "probe " + p.ID, Colour: "#000"})
		}
	}
	var svg bytes.Buffer
	err := draw.WriteSVG(&svg, regions, draw.SVGOptions{
		Fill: func(r *region.Region) string {
			if onMap {
				fill, _ := evidenceFill(v.evidence[r.Code], v.mode)
				return fill
			}
			return byCode[r.Code].Status.Colour()
		},
		FillOpacity: func(r *region.Region) float64 {
			if onMap {
				_, o := evidenceFill(v.evidence[r.Code], v.mode)
				return o
			}
			c := byCode[r.Code]
			if c.Status == coverage.StatusUnmeasured {
				return 1
			}
			return unmeasuredOpacity + (1-unmeasuredOpacity)*c.MeasuredAreaShare()
		},
		Title: func(r *region.Region) string {
			c := byCode[r.Code]
			title := fmt.Sprintf("%s %s: %s, %s %s, %s %s", r.Code, r.Name, t.Status[c.Status], f.int(int64(c.Samples)), t.Samples,
				t.Availability, f.pct(c.Availability))
			if r.Level < deepest {
				title += "; " + s.measured(c, t, f, deepest)
			}
			if onMap {
				title += "; " + ew.Col + ": " + summaryText(v.evidence[r.Code], ew, f)
			}
			return title
		},
		Label: func(r *region.Region) string { return r.Name },
		Href: func(r *region.Region) string {
			switch {
			case link == nil:
				return ""
			case r.Level < deepest:
				return link("level", strconv.Itoa(r.Level+1))
			}
			return regionLink(link, r.Code)
		},
		Points: points,
	})
	if err != nil {
		return d, err
	}
	d.SVG = template.HTML(svg.String()) // draw.WriteSVG escapes every text it writes
	return d, nil
}

// unmeasuredOpacity is the fill opacity of a region none of whose deepest
// regions was measured; it grows to opaque with the measured share.
const unmeasuredOpacity = 0.3

// row writes one region's figures in the page's language.
func (s *Page) row(c *coverage.RegionCell, v view, t labels, f format, th coverage.Thresholds, now time.Time, deepest int) Row {
	rw := Row{Code: c.Region.Code, Name: c.Region.Name, Status: t.Status[c.Status], Colour: c.Status.Colour(),
		Samples: f.int(int64(c.Samples)), Availability: f.pct(c.Availability), Loss: f.pct(c.Loss),
		P50: f.fixed(c.P50, 1), P95: f.fixed(c.P95, 1), Probes: f.int(int64(c.Probes)),
		LastSeen: f.when(c.LastSeen, now), Population: t.Unknown, Affected: peopleText(f, t, c.PeopleAffected, c.AffectedUnknown),
		Measured: s.measured(c, t, f, deepest), population: c.PeopleAffected}
	if c.Region.Level < deepest {
		rw.Share = rw.Measured
	}
	if days, ok := v.trend[c.Region.Code]; ok {
		// our own labels and numbers only
		rw.Trend = template.HTML(sparkline(days[max(0, len(days)-weekDays):], f, t.Trend))
		rw.Trend30 = template.HTML(sparkline(days, f, t.Trend30))
	}
	if c.PopulationKnown {
		rw.Population = f.int(c.Population)
		if c.PopulationEstimated {
			rw.Population += "*"
		}
	}
	switch c.Status {
	case coverage.StatusSilent:
		rw.Blank = true
		rw.Since = f.when(c.LastSeen, now)
		rw.Why = t.silentFor(rw.Since)
	case coverage.StatusBlank:
		rw.Blank = true
		if at, ok := v.since[c.Region.Code]; ok {
			rw.Since = f.when(at, now)
		}
		if v.services != nil {
			cause := v.services.Cause(c.Region.Code, th)
			switch {
			case cause.UplinkDown:
				rw.Why = t.uplinkDown
			case len(cause.Services) > 0:
				rw.Why = t.failing(strings.Join(cause.Services, ", "), strings.Join(cause.Outage, ", "))
			}
		}
	}
	return rw
}

// measured says how much of c was measured: "measured in 1 of 2,415 desa
// (2,483 of 1.53 M people)".
func (s *Page) measured(c *coverage.RegionCell, t labels, f format, deepest int) string {
	if c.Region.Level == deepest { // a region of the deepest level is measured or not
		if c.MeasuredAreas > 0 {
			return t.Yes
		}
		return t.No
	}
	people := t.Population + " " + t.Unknown
	if c.MeasuredPeopleUnknown == 0 && c.PopulationKnown {
		people = f.people(c.MeasuredPeople) + " " + ofWord(t) + " " + f.people(c.Population) + " " + peopleWord(t)
	}
	return t.measured(f.int(int64(c.MeasuredAreas)), f.int(int64(c.Areas)), t.levelName(deepest), people)
}

func ofWord(t labels) string {
	if t.Lang == "id" {
		return "dari"
	}
	return "of"
}

func peopleWord(t labels) string {
	if t.Lang == "id" {
		return "jiwa"
	}
	return "people"
}

// peopleText is a count of affected people, "unknown" when none of them
// has a known population, and "n + unknown" when some have not.
func peopleText(f format, t labels, n int64, unknown int) string {
	switch {
	case unknown == 0:
		return f.int(n)
	case n == 0:
		return t.Unknown
	}
	return f.int(n) + " + " + t.Unknown
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
