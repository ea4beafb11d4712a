package page

import (
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
)

// TestSummaryText writes the issue's example in both languages: "no
// signal per Podes 2024, no Ookla tests, carrier X claims 4G: disputed by
// 3 survey passes".
func TestSummaryText(t *testing.T) {
	date := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	survey := evidence.Finding{Layer: evidence.LayerSurvey, Class: evidence.ClassMeasured, Source: "jangkau survey",
		Carrier: "XL", Signal: evidence.SignalNone, Count: 3, Date: date}
	probe := evidence.Finding{Layer: evidence.LayerProbes, Class: evidence.ClassMeasured, Signal: evidence.SignalNone, Count: 1, Date: date}
	sum := evidence.Summary{Region: "36.02.19.2015", Verdict: evidence.VerdictNone, Basis: evidence.ClassMeasured,
		Findings: []evidence.Finding{
			{Layer: "podes-2024", Kind: evidence.KindPodes, Class: evidence.ClassReported, Source: "Podes 2024", Signal: evidence.SignalNone, Count: 1, Date: date},
			{Layer: "ookla", Kind: evidence.KindOokla, Class: evidence.ClassMeasured, Source: "Ookla"},
			{Layer: "xl-claim", Kind: evidence.KindClaim, Class: evidence.ClassClaimed, Source: "XL", Carrier: "XL", Tech: "4G", Signal: evidence.SignalStrong},
			survey, probe,
		},
		Disputes: []evidence.Dispute{{Claim: "xl-claim", Carrier: "XL", Tech: "4G", By: []evidence.Finding{survey, probe}}},
	}
	for lang, want := range map[string][]string{
		"en": {"no signal (measured): ", "no signal per Podes 2024; no Ookla tests; ", "3 survey passes on XL: no signal",
			"XL claims 4G: disputed by 3 survey passes, 1 probe"},
		"id": {"tanpa sinyal (terukur): ", "tanpa sinyal menurut Podes 2024; tidak ada uji Ookla; ", "3 lintasan survei di XL: tanpa sinyal",
			"XL mengklaim 4G: dibantah oleh 3 lintasan survei, 1 probe"},
	} {
		got := summaryText(&sum, evidenceLabels[lang], formats[lang])
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", lang, got, w)
			}
		}
		if strings.Count(got, "4G") != 1 {
			t.Errorf("%s: %q names the disputed claim more than once", lang, got)
		}
	}
	if got := summaryText(nil, evidenceLabels["en"], formats["en"]); got != "no evidence" {
		t.Errorf("a desa without a summary reads %q", got)
	}
}
