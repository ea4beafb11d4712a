package collector

import (
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/region"
)

// evidenceState is the collector's evidence: the layers' store (nil: none
// configured; the views then show the measurements alone) and the
// summarizer that keeps what the layers give between views.
type evidenceState struct {
	store evidence.Store
	sum   *evidence.Summarizer
}

func newEvidenceState(st evidence.Store, regions *region.Regions, zoom int) evidenceState {
	return evidenceState{store: st, sum: evidence.NewSummarizer(regions, zoom)}
}

// The columns of the evidence views, in CSV; GeoJSON and JSON carry the
// findings and disputes whole besides.
var (
	evidenceRegionColumns = []string{"code", "name", "people", "measured_status", "verdict", "basis", "disputed",
		"sources", "evidence", "dispute_text"}
	evidenceTileColumns = []string{"quadkey", "z", "x", "y", "measured_status", "verdict", "basis", "disputed",
		"sources", "evidence", "dispute_text", "wkt"}
)

// findingView is a finding as the views show it, with its age in days.
type findingView struct {
	evidence.Finding
	AgeDays float64 `json:"age_days"`
}

// disputeView is a dispute with its sentence.
type disputeView struct {
	evidence.Dispute
	Text string `json:"text"`
}

// evidenceProperties are a summary's properties, shared by every format.
func evidenceProperties(sum evidence.Summary, now time.Time) geojson.Properties {
	fs := make([]findingView, len(sum.Findings))
	for i, f := range sum.Findings {
		fs[i] = findingView{Finding: f, AgeDays: float64(f.Age.Round(time.Hour)) / float64(24*time.Hour)}
		if f.Date.IsZero() {
			fs[i].AgeDays = 0
		}
	}
	ds := make([]disputeView, len(sum.Disputes))
	texts := make([]string, len(sum.Disputes))
	for i, d := range sum.Disputes {
		ds[i], texts[i] = disputeView{Dispute: d, Text: d.Text()}, d.Text()
	}
	return geojson.Properties{
		"verdict": string(sum.Verdict), "basis": string(sum.Basis), "disputed": sum.Disputed(),
		"sources": sum.Sources(), "evidence": sum.Text(), "dispute_text": strings.Join(texts, "; "),
		"findings": fs, "disputes": ds,
	}
}

// evidenceBody is the JSON answer: the places and the counts the note
// under the map shows (per verdict, per basis, disputed, per source).
func evidenceBody(q evidenceQuery, key string, props []geojson.Properties, sums []evidence.Summary) map[string]any {
	verdicts, bases, sources := map[string]int{}, map[string]int{}, map[string]int{}
	disputed := 0
	for i := range sums {
		s := &sums[i]
		verdicts[string(s.Verdict)]++
		if s.Basis != "" {
			bases[string(s.Basis)]++
		}
		if s.Disputed() {
			disputed++
		}
		seen := map[string]bool{}
		for _, f := range s.Findings {
			if f.Signal != evidence.SignalUnknown && !seen[f.Layer] {
				seen[f.Layer] = true
				sources[f.Layer]++
			}
		}
	}
	layers := make([]string, 0, len(sources))
	for l := range sources {
		layers = append(layers, l)
	}
	sort.Strings(layers)
	return map[string]any{
		"level": q.Level, "from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
		"filter": q.filter, "region": q.region,
		"rule":   "measured beats reported beats claimed; newer beats older (a tie: the worse signal); a claim contradicted by measurements of its carrier or of none named is disputed (docs/evidence-rule.md)",
		"counts": map[string]any{"places": len(sums), "verdicts": verdicts, "basis": bases, "disputed": disputed, "sources": sources},
		key:      props,
	}
}
