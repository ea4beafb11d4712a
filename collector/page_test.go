package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// TestMapPageSinceAndWhy: the summary says since when each blank or silent
// kecamatan has been so, in the configured zone and to the minute, and
// why: Timur's uplink fails; Barat's uplink works while the e-service sso
// fails; Jauh's probe stopped reporting.
func TestMapPageSinceAndWhy(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.PublicRead = true
		c.Page.TimeZone = "Asia/Makassar" // WITA, UTC+8
		c.Probes = append(c.Probes, ProbeConfig{ID: "far", TokenSHA256: hash("tok-far"), Region: "99.02.01"})
	})
	post := func(tok string, b wire.Batch) {
		t.Helper()
		if code, _, raw := f.post(tok, gz(t, b)); code != 200 {
			t.Fatalf("ingest %s: %d %s", b.Probe, code, raw)
		}
	}
	// The clock is local, as time.Now is: in WIB, while the page shows WITA.
	wib := time.FixedZone("WIB", 7*3600)
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 27, h, m, s, 0, time.UTC).In(wib) }
	f.now = at(8, 53, 0)
	post("tok-far", wire.Batch{Probe: "far", Results: results(1, 10, f.now, true, 10)})
	f.now = at(9, 0, 0)
	// Timur: every uplink check fails from 08:53.
	post("tok-east", wire.Batch{Probe: "east", Results: results(1, 14, f.now, false, 5)})
	// Barat: sso fails every 30 s from 08:40; the uplink answers every 3 min.
	var west []wire.Result
	for i, r := range results(1, 40, f.now, false, 5) {
		r.Service = "sso"
		west = append(west, r)
		if i%6 == 2 {
			west = append(west, wire.Result{Seq: uint64(100 + i), Time: r.Time.Add(time.Second), Check: "ping",
				Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: true, DurationMS: 10})
		}
	}
	post("tok-west", wire.Batch{Probe: "west", Results: west})

	code, body := f.raw("/?level=3&lang=en")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	summary := body[strings.Index(body, `id="summary"`):]
	summary = summary[:strings.Index(summary, "</section>")]
	for code, want := range map[string]string{
		"99.01.02": "blank, since 16:53 WITA — why: uplink down.",
		"99.01.01": "blank, since 16:40 WITA — why: uplink fine; failing: sso.",
		"99.02.01": "silent, since 16:53 WITA — why: no report since 16:53 WITA: link or power cut.",
	} {
		i := strings.Index(summary, `<li data-code="`+code+`">`)
		if i < 0 {
			t.Errorf("summary does not list %s:\n%s", code, summary)
			continue
		}
		li := summary[i : i+strings.Index(summary[i:], "</li>")]
		if !strings.Contains(li, want) {
			t.Errorf("%s: %q lacks %q", code, li, want)
		}
	}
	_, body = f.raw("/?level=3")
	for _, want := range []string{"sejak 16.53 WITA — penyebab: uplink mati.", "4.000 penduduk terdampak",
		"terukur di 1 dari 1 kecamatan (2.000 dari 2.000 jiwa)"} {
		if !strings.Contains(body, want) {
			t.Errorf("Indonesian page lacks %q", want)
		}
	}
}
