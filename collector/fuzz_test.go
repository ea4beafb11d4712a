package collector

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Run the targets beyond their seeds with, for example:
//
//	go test ./collector -run '^$' -fuzz '^FuzzDecodeBatch$' -fuzztime 20s
//	go test ./collector -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 20s
//
// Seeds are the f.Add calls below and testdata/fuzz/<target>/.

func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`{"probe":"west","sent_at":"2026-11-27T09:00:00Z","first_seq":1,"results":[` +
			`{"seq":1,"time":"2026-11-27T08:59:00Z","check":"portal","kind":"http","target":"http://127.0.0.1:9/","service":"perizinan","ok":true,"duration_ms":182.4,"phases":{"connect":31.2,"tls":64.9},"status_code":200},` +
			`{"seq":2,"time":"2026-11-27T08:59:10+07:00","check":"gw","kind":"tcp","target":"127.0.0.1:1","ok":false,"duration_ms":2000,"error_class":"timeout","error":"i/o timeout","location":{"lat":-6.1,"lon":106.2}}]}`,
		`{"results":[{"seq":"1"},{"seq":2,"time":"later"},null,5,{"seq":3,"duration_ms":-1},{"seq":4,"phases":{"":1}}]}`,
		`{"results":[{"seq":18446744073709551615,"time":"2026-11-27T08:59:00.123456789Z","check":"c","kind":"dns","target":"t","status_code":1e3}]}`,
		`{"results":[],"results":[]}`,
		`{"results":[{"seq":1,"check":"` + strings.Repeat(`\u00e9`, 200) + `","duration_ms":` + strings.Repeat("9", 80) + `}]}`,
		`{"probe":"\u0077est","results":{}}`,
		`[]`, `{`, `{} x`, ``,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rules := batchRules{oldest: now.Add(-90 * 24 * time.Hour), newest: now.Add(5 * time.Minute), maxResults: 50}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(bytes.NewReader(data), rules)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "batch") {
				t.Fatalf("error %q does not say batch", err)
			}
			return
		}
		if n := len(b.Results) + len(b.Rejected); n > rules.maxResults {
			t.Fatalf("%d results over the limit %d", n, rules.maxResults)
		}
		for _, r := range b.Results {
			if field, reason := check(&r, rules); field != "" {
				t.Fatalf("result %+v kept though %s: %s", r, field, reason)
			}
		}
		last := -1
		for _, rej := range b.Rejected {
			if rej.Field == "" || rej.Reason == "" || rej.Index <= last {
				t.Fatalf("rejection %+v lacks field or reason, or is out of order", rej)
			}
			last = rej.Index
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"listen: 127.0.0.1:9090\nclock: {max_ahead: 5m, max_age: 2160h}\nlimits: {probe_requests_per_second: 5, probe_burst: 10}\n",
		"probes:\n  - id: a\n    token_sha256: " + strings.Repeat("ab", 32) + "\n    region: \"36.01\"\n",
		"probes:\n  - {id: a, token_sha256: x, location: {lat: 91, lon: 0}}\n",
		"clock: {max_ahead: 1ns}\n", "status: {min_samples: -1}\n", "listen: [1, 2]\n", "? [a]\n: b\n", "a: &x [*x]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "/base")
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config that Validate refuses: %v", err)
		}
		if err := cfg.Clock.validate(); err != nil || cfg.Limits.MaxResults < 1 {
			t.Fatalf("accepted config out of bounds: %+v", cfg)
		}
	})
}
