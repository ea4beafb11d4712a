package strictyaml

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	type upload struct {
		Interval time.Duration `yaml:"interval"`
		Batch    int           `yaml:"batch_size"`
	}
	type inner struct {
		Kind string `yaml:"kind"`
	}
	type doc struct {
		Name      string         `yaml:"name"`
		Collector string         `yaml:"collector"`
		Upload    upload         `yaml:"upload"`
		Checks    []*upload      `yaml:"checks"`
		Inner     inner          `yaml:",inline"`
		Limits    map[string]int `yaml:"limits"`
		KeySHA256 string         `yaml:"key_sha256"`
	}
	for _, tc := range []struct {
		name, in string
		wantErr  []string
		eof      bool
	}{
		{name: "known", in: "name: a\nupload: {interval: 30s}\nkind: x\nlimits: {anything: 3}\n"},
		{name: "unknown key", in: "name: a\nnmae: b\n", wantErr: []string{"line 2: nmae: field nmae not found", "did you mean name?"}},
		{name: "typo top level", in: "colector: http://x\n", wantErr: []string{"colector: field colector not found; did you mean collector?"}},
		{name: "typo nested", in: "upload:\n  intervl: 5s\n", wantErr: []string{"line 2: upload.intervl: field intervl not found; did you mean interval?"}},
		{name: "typo in list", in: "checks:\n  - interval: 5s\n  - batchsize: 3\n", wantErr: []string{"line 3: checks[1].batchsize", "did you mean batch_size?"}},
		{name: "far from anything", in: "zzzzzzzz: 1\n", wantErr: []string{"field zzzzzzzz not found; known keys here: checks, collector, key_sha256, kind, limits, name, upload"}},
		{name: "same last word", in: "token_sha256: x\n", wantErr: []string{"token_sha256: field token_sha256 not found; did you mean key_sha256?"}},
		{name: "inline key typo", in: "knd: x\n", wantErr: []string{"did you mean kind?"}},
		{name: "bare number duration", in: "upload: {interval: 30}\n", wantErr: []string{"line 1: upload.interval: 30 is not a duration: write a duration such as 30s"}},
		{name: "bad duration", in: "checks: [{interval: 30 s}]\n", wantErr: []string{`checks[0].interval: "30 s" is not a duration: write a duration such as 30s`}},
		{name: "empty", in: "", eof: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.in), &d)
			switch {
			case tc.eof:
				if !errors.Is(err, io.EOF) {
					t.Errorf("err = %v, want io.EOF", err)
				}
			case tc.wantErr != nil:
				if err == nil {
					t.Fatalf("err = nil, want %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want one containing %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "strictyaml.") || strings.Contains(err.Error(), "time.Duration") {
					t.Errorf("err = %v names a Go type", err)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			}
		})
	}
}
