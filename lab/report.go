package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeReport writes report.md, the map pages as SVG and the coverage
// answers as GeoJSON for the report window.
func (l *lab) writeReport(ctx context.Context, results []*result) error {
	dir := l.opt.Report
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	from, to, err := l.window(l.sc.ReportWindow)
	if err != nil {
		return err
	}
	q := windowQuery(from, to)
	var files []string
	save := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err == nil {
			files = append(files, name)
		}
	}
	for _, level := range []int{2, 3} {
		if _, raw, err := l.api.coverage(ctx, level, q); err == nil {
			save(fmt.Sprintf("coverage-level%d.geojson", level), raw)
		}
		if page, err := l.api.get(ctx, fmt.Sprintf("/?level=%d&lang=en&%s", level, q)); err == nil {
			if svg := extractSVG(page); svg != nil {
				save(fmt.Sprintf("map-level%d.svg", level), svg)
			}
		}
	}
	if body, err := l.api.get(ctx, "/api/v1/services?level=2&"+q); err == nil {
		save("services.json", body)
	}
	if body, err := l.api.get(ctx, "/api/v1/probes"); err == nil {
		save("probes.json", body)
	}

	var b strings.Builder
	failed := 0
	for _, r := range results {
		if !r.ok {
			failed++
		}
	}
	verdict := "PASS"
	if failed > 0 {
		verdict = fmt.Sprintf("FAIL (%d of %d assertions failed)", failed, len(results))
	}
	fmt.Fprintf(&b, "# jangkau lab: %s\n\n**%s**. Started %s; report window %s..%s (%s to %s UTC).\n\n",
		l.sc.Name, verdict, l.t0.UTC().Format(time.RFC3339), l.sc.ReportWindow.From, l.sc.ReportWindow.To,
		from.UTC().Format("15:04:05"), to.UTC().Format("15:04:05"))
	b.WriteString("## Districts\n\n| district | namespace | region | link at start |\n|---|---|---|---|\n")
	for i, d := range l.sc.Districts {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", d.Name, l.net.district(i), d.Region, linkText(d.Link))
	}
	b.WriteString("\n## Assertions\n\n")
	for _, r := range results {
		mark := "✔"
		if !r.ok {
			mark = "✘"
		}
		fmt.Fprintf(&b, "### %s %s\n\n", mark, r.name)
		for _, m := range r.measured {
			fmt.Fprintf(&b, "- %s\n", m)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Timeline\n\n```\n")
	l.mu.Lock()
	for _, line := range l.log {
		b.WriteString(line + "\n")
	}
	l.mu.Unlock()
	b.WriteString("```\n\n## Files\n\n")
	for _, f := range files {
		fmt.Fprintf(&b, "- [%s](%s)\n", f, f)
	}
	b.WriteString("- logs/: every process's output\n")
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644)
}

// extractSVG cuts the map's <svg> element out of the map page.
func extractSVG(page []byte) []byte {
	i := bytes.Index(page, []byte("<svg"))
	j := bytes.LastIndex(page, []byte("</svg>"))
	if i < 0 || j < i {
		return nil
	}
	svg := page[i : j+len("</svg>")]
	if !bytes.Contains(svg[:min(len(svg), 300)], []byte("xmlns=")) {
		svg = bytes.Replace(svg, []byte("<svg"), []byte(`<svg xmlns="http://www.w3.org/2000/svg"`), 1)
	}
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), svg...)
}

func linkText(s LinkSpec) string {
	var parts []string
	if s.Delay != nil {
		parts = append(parts, "delay "+s.Delay.String())
	}
	if s.Loss != nil && *s.Loss > 0 {
		parts = append(parts, fmt.Sprintf("loss %d%% each way", *s.Loss))
	}
	if s.Rate != nil && *s.Rate != "" {
		parts = append(parts, "rate "+*s.Rate)
	}
	if s.Cut != nil && *s.Cut {
		parts = append(parts, "cut")
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}
