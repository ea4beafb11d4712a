package winservice

import (
	"io"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		programData string
		want        Args
		wantErr     string
	}{
		{
			name: "install with the defaults", args: []string{"install"}, programData: `D:\Data\`,
			want: Args{Action: "install", Name: "jangkau-probe", Config: `D:\Data\jangkau\probe.yaml`, LogFile: `D:\Data\jangkau\probe.log`, LogLevel: "info"},
		},
		{
			name: "no ProgramData in the environment", args: []string{"uninstall"},
			want: Args{Action: "uninstall", Name: "jangkau-probe", Config: `C:\ProgramData\jangkau\probe.yaml`, LogFile: `C:\ProgramData\jangkau\probe.log`, LogLevel: "info"},
		},
		{
			name: "run as the manager starts it", programData: `C:\ProgramData`,
			args: []string{"run", "--name", "probe-2", "--config", `E:\probe2.yaml`, "--log-file", `E:\probe2.log`, "--log-level", "debug"},
			want: Args{Action: "run", Name: "probe-2", Config: `E:\probe2.yaml`, LogFile: `E:\probe2.log`, LogLevel: "debug"},
		},
		{name: "no action", args: nil, wantErr: "name an action: install, uninstall or run"},
		{name: "a flag before the action", args: []string{"--config", "x.yaml", "install"}, wantErr: "name an action"},
		{name: "unknown action", args: []string{"start"}, wantErr: `unknown action "start"`},
		{name: "stray argument", args: []string{"install", "probe.yaml"}, wantErr: `unexpected argument "probe.yaml"`},
		{name: "name with a backslash", args: []string{"install", "--name", `a\b`}, wantErr: "may not be empty or hold"},
		{name: "unknown flag", args: []string{"install", "--conifg", "x"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseArgs(tc.args, tc.programData, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseArgs(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}
