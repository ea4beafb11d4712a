package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

func TestLoadConfigBad(t *testing.T) {
	tests := []struct {
		file, wantErr string
	}{
		{"unknown_key", "line 4: colector: field colector not found; did you mean collector?"},
		{"unknown_check_key", "field retries not found"},
		{"timeout_long", "checks[1].timeout (15s) must be shorter than interval (10s)"},
		{"kind", `checks[0].kind "ftp" is not one of dns, http, icmp, tcp`},
		{"collector_scheme", `collector "ftp://x" must be an http or https URL`},
		{"dup_name", `checks[1].name "a" is already used by checks[0]`},
		{"no_id", "id is missing"},
		{"id_chars", `id "pdg 01/x" may only contain`},
		{"http_target", `checks[0].target "127.0.0.1:9000/" must be an absolute http or https URL`},
		{"tcp_target", `checks[0].target "127.0.0.1" must be host:port`},
		{"tcp_port", `checks[0].target "127.0.0.1:99999": port must be a number in 1..65535`},
		{"lat", "location.lat (-96.31) must be within -90..90"},
		{"lon", "location.lon (186.1) must be within -180..180"},
		{"both_tokens", "token and token_file are both set"},
		{"no_token", "one of token or token_file is required"},
		{"missing_token_file", "no-such-token"},
		{"bare_duration", "write a duration such as 30s"},
		{"no_checks", "checks: none configured"},
		{"batch_size", "upload.batch_size (0) must be positive"},
		{"concurrency", "concurrency (-1) must be positive"},
		{"sync_interval", "spool.sync_interval (30s) must be within 0..10s"},
		{"empty", "config is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file+".bad.yml")
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("LoadConfig(%s) succeeded, want error containing %q", path, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadConfig(%s) error = %q, want it to contain %q", path, err, tc.wantErr)
			}
		})
	}
}

func TestLoadConfigGood(t *testing.T) {
	dir := "testdata"
	tests := []struct {
		file      string
		want      Config
		wantToken string
	}{
		{
			file: "full",
			want: Config{
				ID:          "pdg-01",
				Collector:   "http://127.0.0.1:8080",
				TokenFile:   filepath.Join(dir, "token"),
				Location:    &wire.Location{Lat: -6.31, Lon: 106.10},
				Spool:       spool.Config{Dir: filepath.Join(dir, "jangkau-spool-pdg-01"), MaxBytes: 256 << 20, MaxAge: 720 * time.Hour, SyncInterval: time.Second},
				Upload:      UploadConfig{Interval: 5 * time.Second, BatchSize: 1000, Timeout: 30 * time.Second},
				Concurrency: 32,
				Checks: []checkspec.CheckConfig{
					{Name: "portal", Kind: "http", Target: "http://127.0.0.1:9000/", Interval: 5 * time.Second, Timeout: 2 * time.Second, Service: "perizinan"},
					{Name: "gateway", Kind: "tcp", Target: "127.0.0.1:9001", Interval: 5 * time.Second, Timeout: 2 * time.Second},
				},
			},
			wantToken: "s3cret",
		},
		{
			file: "minimal",
			want: Config{
				ID:          "pdg-02",
				Collector:   "https://127.0.0.1:8443/",
				Token:       "abc",
				Spool:       spool.Config{Dir: filepath.Join(dir, "jangkau-spool-pdg-02"), MaxBytes: 256 << 20, MaxAge: 720 * time.Hour, SyncInterval: time.Second},
				Upload:      DefaultConfig.Upload,
				Concurrency: DefaultConfig.Concurrency,
				Checks: []checkspec.CheckConfig{
					{Name: "gw", Kind: "tcp", Target: "127.0.0.1:22", Interval: 30 * time.Second, Timeout: 10 * time.Second},
				},
			},
			wantToken: "abc",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := LoadConfig(filepath.Join(dir, tc.file+".good.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if tok := got.BearerToken(); tok != tc.wantToken {
				t.Errorf("BearerToken() = %q, want %q", tok, tc.wantToken)
			}
			got.token = ""
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("LoadConfig:\n got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

// DefaultConfig must not be changed by parsing: it is copied, not shared.
func TestParseConfigKeepsDefaults(t *testing.T) {
	before := DefaultConfig
	_, err := ParseConfig([]byte("id: a\ncollector: http://127.0.0.1:1\ntoken: t\nupload: {interval: 1s}\nchecks: [{name: a, kind: tcp, target: '127.0.0.1:2'}]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, DefaultConfig) {
		t.Errorf("DefaultConfig changed: %+v", DefaultConfig)
	}
}

// TestLocalFilesSizeLimited: the files a probe's config names (its token,
// the collector's CA, a local check's CA) are read up to
// checkspec.MaxFileBytes; a larger one fails the load with the key, the
// file and the limit, instead of being read whole (/dev/zero would never
// end).
func TestLocalFilesSizeLimited(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, checkspec.MaxFileBytes+1); err != nil { // sparse
		t.Fatal(err)
	}
	limit := fmt.Sprintf("%q is larger than %d bytes", big, checkspec.MaxFileBytes)
	base := "id: p1\ncollector: https://127.0.0.1:1\nspool: {dir: " + dir + "}\n"
	check := "checks: [{name: c, kind: tcp, target: \"127.0.0.1:9\"}]\n"
	for _, tc := range []struct{ name, yaml, wantErr string }{
		{"token_file", base + "token_file: big\n" + check, "token_file " + limit},
		{"check ca_file", base + "token: t\nchecks: [{name: c, kind: http, target: \"https://127.0.0.1/\", http: {tls: {ca_file: big}}}]\n",
			"checks[0].http.tls.ca_file " + limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("ca_file", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(base+"token: t\nca_file: big\n"+check), dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(cfg, discard, nil)
		if err == nil {
			p.Close()
			t.Fatal("New succeeded")
		}
		if want := "ca_file " + limit; !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	})
}

// TestTokenFileHoldsOneToken: a token file holds the token alone; the
// whole output of `jangkau token`, several lines or words are refused
// with the expected form, and the error never shows the secret.
func TestTokenFileHoldsOneToken(t *testing.T) {
	const secret = "4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344"
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{name: "alone", content: secret},
		{name: "trailing newline and spaces", content: "  " + secret + " \n\n"},
		{name: "jangkau token output", content: "token:        " + secret + "\ntoken_sha256: \"9bb8\"\n", wantErr: "labelled output of `jangkau token`"},
		{name: "head -1 of it", content: "token:        " + secret + "\n", wantErr: "labelled output of `jangkau token`"},
		{name: "two lines", content: secret + "\n" + secret + "\n", wantErr: "holds 2 lines"},
		{name: "two words", content: secret + " extra\n", wantErr: "holds 2 words"},
		{name: "control byte", content: secret + "\x00", wantErr: "HTTP header cannot carry"},
		{name: "empty", content: "\n \n", wantErr: "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			yml := "id: a\ncollector: http://127.0.0.1:8080\ntoken_file: token\nchecks: [{name: gw, kind: tcp, target: \"127.0.0.1:22\"}]\n"
			cfg, err := ParseConfig([]byte(yml), dir)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.BearerToken() != secret {
					t.Errorf("BearerToken() has %d bytes, want the %d of the token", len(cfg.BearerToken()), len(secret))
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseConfig succeeded, want an error containing %q", tc.wantErr)
			}
			for _, want := range []string{tc.wantErr, "jangkau token --out FILE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestCheckDurations: an interval or timeout of 0 is refused with the
// floor (it used to become the default silently), a bare number is told
// to carry a unit.
func TestCheckDurations(t *testing.T) {
	for _, tc := range []struct {
		check, wantErr string
	}{
		{"interval: 0s", "checks[0].interval (0s) is below the floor of 1s"},
		{"interval: 0", "checks[0].interval: 0 is not a duration: write a duration such as 30s"},
		{"interval: 30", "checks[0].interval: 30 is not a duration: write a duration such as 30s"},
		{"interval: 500ms", "checks[0].interval (500ms) is below the floor of 1s"},
		{"timeout: 0s", "checks[0].timeout (0s) must be positive"},
		{"intervall: 30s", "checks[0].intervall: field intervall not found; did you mean interval?"},
	} {
		t.Run(tc.check, func(t *testing.T) {
			yml := fmt.Sprintf("id: a\ncollector: http://127.0.0.1:8080\ntoken: t\nchecks: [{name: gw, kind: tcp, target: \"127.0.0.1:22\", %s}]\n", tc.check)
			_, err := ParseConfig([]byte(yml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseConfig error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestSpoolDirError: a spool dir the probe may not write (a read-only
// system under the systemd unit, or a permission) says where it may.
func TestSpoolDirError(t *testing.T) {
	for _, errno := range []error{syscall.EROFS, syscall.EACCES} {
		err := spoolDirError("/etc/jangkau/spool", &fs.PathError{Op: "mkdir", Path: "/etc/jangkau/spool", Err: errno})
		if !strings.Contains(err.Error(), "set spool: {dir: /var/lib/jangkau/spool}") || !errors.Is(err, errno) {
			t.Errorf("%v: error = %v", errno, err)
		}
	}
	if err := spoolDirError("x", syscall.ENOSPC); err != syscall.ENOSPC {
		t.Errorf("ENOSPC changed to %v", err)
	}
}
