// Package report is the printable coverage report of one month: the
// province map, the blank and silent regions with the people affected,
// since when and why, the e-service × kabupaten matrix, what changed
// since the month before and how much was measured. It is one HTML file
// with its SVG and CSS inline (no script, nothing fetched), printed to
// PDF by headless Chromium. It writes with the map page's formats,
// palette and drawing (collector/page).
package report

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/page"
)

//go:embed report.html
var reportHTML string

var reportPage = template.Must(template.New("report").Parse(reportHTML))

// mapLevel is the level the report draws and lists: kabupaten/kota.
const mapLevel = 2

// data is what report.html writes.
type data struct {
	T              words
	Lang           string
	Title, Period  string
	From, To       string
	Colours        page.Palette
	Province       page.Row // the whole province: how much was measured
	Map            page.Snapshot
	Services       []string // the matrix's columns
	Matrix         []matrixRow
	Better, Worse  []string
	PreviousPeriod string
	Generated      string
}

// matrixRow is one kabupaten of the e-service matrix.
type matrixRow struct {
	Code, Name string
	Cells      []matrixCell
}

type matrixCell struct {
	Text    string
	Failing bool
}

// Build writes the report of period p in lang ("id" unless "en") as one
// HTML document.
func Build(ctx context.Context, r page.Reader, p Period, lang string) ([]byte, error) {
	lang = page.Lang(lang)
	level := min(mapLevel, r.Regions().Deepest())
	f := page.NewFormat(lang, r.TimeZone())
	now := r.Now()
	q := httpapi.View{Query: coverage.Query{From: p.From, To: p.To, Now: now}, Level: level}
	pg := page.New(r)
	snap, err := pg.Snapshot(ctx, q, lang)
	if err != nil {
		return nil, err
	}
	q.Level = 1
	top, err := pg.Snapshot(ctx, q, lang)
	if err != nil {
		return nil, err
	}
	prev := p.Previous()
	better, worse, err := pg.Changes(ctx, q.Query, prev.From, prev.To)
	if err != nil {
		return nil, err
	}
	sv, err := r.Engine().Services(ctx, r.Rollups(), level, q.Query)
	if err != nil {
		return nil, err
	}
	t := reportWords[lang]
	d := data{T: t, Lang: lang, Title: snap.Title, Period: f.Month(p.From), From: snap.From, To: f.When(p.To.Add(-1), now),
		Colours: page.Colours(), Map: snap, Better: page.ChangeTexts(better, lang), Worse: page.ChangeTexts(worse, lang),
		PreviousPeriod: f.Month(prev.From), Generated: f.When(now, now)}
	if len(top.Rows) == 1 {
		d.Province = top.Rows[0]
	}
	d.Services, d.Matrix = matrix(sv, snap.Rows, r.Engine().Thresholds(), f, t)
	var b bytes.Buffer
	if err := reportPage.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("report template: %w", err)
	}
	return b.Bytes(), nil
}

// matrix lays the services view out as kabupaten rows and e-service
// columns, the uplink first; a cell fails below blank_below.
func matrix(sv *coverage.ServicesView, rows []page.Row, th coverage.Thresholds, f page.Format, t words) ([]string, []matrixRow) {
	type key struct{ service, region string }
	cells := map[key]coverage.ServiceCell{}
	for _, c := range sv.Cells {
		cells[key{c.Service, c.Region}] = c
	}
	var heads []string
	for _, s := range sv.Services {
		if s == "" {
			s = t.Uplink
		}
		heads = append(heads, s)
	}
	var out []matrixRow
	for _, r := range rows {
		mr := matrixRow{Code: r.Code, Name: r.Name}
		for _, s := range sv.Services {
			c, ok := cells[key{s, r.Code}]
			if !ok || c.Samples == 0 {
				mr.Cells = append(mr.Cells, matrixCell{Text: "–"})
				continue
			}
			failing := c.Availability < th.BlankBelow || (!math.IsNaN(c.Loss) && c.Loss >= th.BlankLoss)
			mr.Cells = append(mr.Cells, matrixCell{Text: f.Pct(c.Availability), Failing: failing})
		}
		out = append(out, mr)
	}
	return heads, out
}

// Files are the names WriteFiles writes in its directory.
func Files(p Period, lang string) (html, pdf string) {
	base := "jangkau-" + p.String() + "-" + page.Lang(lang)
	return base + ".html", base + ".pdf"
}

// WriteFiles builds the report into dir (created if need be) as HTML,
// then prints it to PDF; it returns both paths.
func WriteFiles(ctx context.Context, r page.Reader, p Period, lang, dir string) (htmlPath, pdfPath string, err error) {
	doc, err := Build(ctx, r, p, lang)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("report --out %s: %w", dir, err)
	}
	h, pf := Files(p, lang)
	htmlPath, pdfPath = filepath.Join(dir, h), filepath.Join(dir, pf)
	if err := os.WriteFile(htmlPath, doc, 0o644); err != nil {
		return "", "", fmt.Errorf("report --out %s: %w", dir, err)
	}
	return htmlPath, pdfPath, PrintPDF(ctx, htmlPath, pdfPath)
}
