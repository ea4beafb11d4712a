package strictyaml

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type doc struct {
		Name string `yaml:"name"`
	}
	for _, tc := range []struct {
		name, in, wantErr string
		eof               bool
	}{
		{name: "known", in: "name: a\n"},
		{name: "unknown key", in: "name: a\nnmae: b\n", wantErr: "field nmae not found"},
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
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			}
		})
	}
}
