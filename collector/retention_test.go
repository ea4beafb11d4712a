package collector

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       RetentionConfig
		wantErr    string
	}{
		// The defaults docs/collector.md and storage.md give: a config
		// without retention keeps raw results 30 days, minute rows 14,
		// hour rows forever.
		{name: "defaults", yaml: "listen: 127.0.0.1:8080\n", want: RetentionConfig{Raw: 720 * time.Hour, Minute: 336 * time.Hour}},
		{name: "issue example", yaml: "retention: {raw: 720h, minute: 336h, hour: 0}\n",
			want: RetentionConfig{Raw: 720 * time.Hour, Minute: 336 * time.Hour}},
		{name: "all forever", yaml: "retention: {raw: 0, minute: 0, hour: 0}\n"},
		{name: "hours kept a year", yaml: "retention: {raw: 720h, minute: 336h, hour: 8760h}\n",
			want: RetentionConfig{Raw: 720 * time.Hour, Minute: 336 * time.Hour, Hour: 8760 * time.Hour}},
		{name: "too short", yaml: "retention: {raw: 30m}\n", wantErr: "retention.raw (30m0s) must be 0 (keep forever) or at least 1h0m0s"},
		{name: "hours before minutes", yaml: "retention: {minute: 336h, hour: 24h}\n",
			wantErr: "retention.hour (24h0m0s) must be 0 (keep forever) or at least retention.minute (336h0m0s)"},
		{name: "hours before minutes kept forever", yaml: "retention: {minute: 0, hour: 24h}\n",
			wantErr: "retention.hour (24h0m0s) must be 0 (keep forever) or at least retention.minute (forever)"},
		{name: "negative", yaml: "retention: {hour: -1h}\n", wantErr: "retention.hour (-1h0m0s) must be 0 (keep forever) or at least 1h0m0s"},
		{name: "not a duration", yaml: "retention: {raw: 30}\n", wantErr: `retention.raw "30" must be a duration like 720h, or 0`},
		{name: "unknown key", yaml: "retention: {days: 3}\n", wantErr: "field days not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), t.TempDir())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Retention != tc.want {
				t.Errorf("retention = %+v, want %+v", cfg.Retention, tc.want)
			}
		})
	}
}
