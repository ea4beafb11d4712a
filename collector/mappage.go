package collector

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/geo"
)

//go:embed mappage.html
var mapPageHTML string

var mapPage = template.Must(template.New("map").Funcs(template.FuncMap{
	"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" },
	"ms": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	},
	"people": func(n int64) string { return groupDigits(n) },
	"since": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
}).Parse(mapPageHTML))

type levelLink struct {
	Level   int
	Name    string
	Current bool
}

type legendEntry struct {
	Status geo.Status
	Colour string
	Count  int
}

type mapPageData struct {
	Banner       string
	Title        string
	Level        int
	Levels       []levelLink
	Window       string
	Windows      []string
	From, To     time.Time
	SVG          template.HTML
	Legend       []legendEntry
	Rows         []RegionCoverage
	Blank        []RegionCoverage // blank and silent, most people first
	PeopleBlank  int64
	PeopleKnown  bool
	RefreshAfter int
}

// levelName says what a level is called in Kemendagri codes.
func levelName(n int) string {
	switch n {
	case 1:
		return "provinsi"
	case 2:
		return "kabupaten/kota"
	case 3:
		return "kecamatan"
	case 4:
		return "desa/kelurahan"
	}
	return fmt.Sprintf("level %d", n)
}

func (s *Server) handleMap(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseCoverageQuery(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cov, err := s.coverage(r.Context(), q)
	if err != nil {
		s.storeFailed(w, "map", err)
		return
	}
	window := r.URL.Query().Get("window")
	if window == "" {
		window = "15m"
	}
	d := mapPageData{Banner: s.opt.Banner, Level: q.Level, Window: window, From: q.From, To: q.To,
		Windows: []string{"15m", "1h", "6h", "24h"}, RefreshAfter: 15, Rows: cov}
	if top := s.regions.Level(1); len(top) == 1 {
		d.Title = top[0].Name
	}
	for _, l := range s.regions.Levels() {
		d.Levels = append(d.Levels, levelLink{l, levelName(l), l == q.Level})
	}
	byCode := map[string]*RegionCoverage{}
	counts := map[geo.Status]int{}
	regions := make([]*geo.Region, len(cov))
	d.PeopleKnown = true
	for i := range cov {
		rc := &cov[i]
		byCode[rc.Region.Code] = rc
		regions[i] = rc.Region
		counts[rc.Status]++
		if rc.Status == geo.StatusBlank || rc.Status == geo.StatusSilent {
			d.Blank = append(d.Blank, *rc)
			d.PeopleBlank += rc.Region.Population
			d.PeopleKnown = d.PeopleKnown && rc.Region.PopulationKnown
		}
	}
	sort.SliceStable(d.Blank, func(i, j int) bool { return d.Blank[i].Region.Population > d.Blank[j].Region.Population })
	for _, st := range geo.Statuses {
		d.Legend = append(d.Legend, legendEntry{st, st.Colour(), counts[st]})
	}
	var points []geo.SVGPoint
	for _, p := range s.probes.list {
		if p.Location != nil {
			points = append(points, geo.SVGPoint{Lat: p.Location.Lat, Lon: p.Location.Lon, Label: "probe " + p.ID, Colour: "#000"})
		}
	}
	var svg bytes.Buffer
	err = geo.WriteSVG(&svg, regions, geo.SVGOptions{
		Fill: func(r *geo.Region) string { return byCode[r.Code].Status.Colour() },
		Title: func(r *geo.Region) string {
			rc := byCode[r.Code]
			return fmt.Sprintf("%s %s: %s, %d samples, availability %.1f%%", r.Code, r.Name, rc.Status, rc.Samples, rc.Availability*100)
		},
		Href: func(r *geo.Region) string {
			if r.Level < s.regions.Deepest() {
				return fmt.Sprintf("/?level=%d&window=%s", r.Level+1, window)
			}
			return ""
		},
		Points: points,
	})
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	d.SVG = template.HTML(svg.String()) // geo.WriteSVG escapes every text it writes
	var page bytes.Buffer
	if err := mapPage.Execute(&page, d); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
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
