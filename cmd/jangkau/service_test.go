package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseServiceArgs(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		programData string
		want        serviceArgs
		wantErr     string
	}{
		{
			name: "install with the defaults", args: []string{"install"}, programData: `D:\Data\`,
			want: serviceArgs{action: "install", name: "jangkau-probe", config: `D:\Data\jangkau\probe.yaml`, logFile: `D:\Data\jangkau\probe.log`, logLevel: "info"},
		},
		{
			name: "no ProgramData in the environment", args: []string{"uninstall"},
			want: serviceArgs{action: "uninstall", name: "jangkau-probe", config: `C:\ProgramData\jangkau\probe.yaml`, logFile: `C:\ProgramData\jangkau\probe.log`, logLevel: "info"},
		},
		{
			name: "run as the manager starts it", programData: `C:\ProgramData`,
			args: []string{"run", "--name", "probe-2", "--config", `E:\probe2.yaml`, "--log-file", `E:\probe2.log`, "--log-level", "debug"},
			want: serviceArgs{action: "run", name: "probe-2", config: `E:\probe2.yaml`, logFile: `E:\probe2.log`, logLevel: "debug"},
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
			got, err := parseServiceArgs(tc.args, tc.programData, io.Discard)
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
				t.Errorf("parseServiceArgs(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}

// states records what serveService reports, for the manager.
type states struct{ seen []svcState }

func (s *states) report(st svcState) { s.seen = append(s.seen, st) }

func TestServeService(t *testing.T) {
	errSpool := errors.New("spool: flush failed")
	errConfig := errors.New("probe.yaml: collector.url is required")
	tests := []struct {
		name       string
		cmds       []svcCmd
		probe      func(ctx context.Context) error
		wantStates []svcState
		wantErr    error  // errors.Is
		wantText   string // or a message
	}{
		{
			name: "stopped by the manager",
			cmds: []svcCmd{svcInterrogate, svcStop},
			probe: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			wantStates: []svcState{svcStartPending, svcRunning, svcRunning, svcStopPending},
		},
		{
			name:       "probe fails at start",
			probe:      func(context.Context) error { return errConfig },
			wantStates: []svcState{svcStartPending, svcRunning},
			wantErr:    errConfig,
		},
		{
			name:       "probe returns by itself",
			probe:      func(context.Context) error { return nil },
			wantStates: []svcState{svcStartPending, svcRunning},
			wantText:   "stopped by itself",
		},
		{
			name: "probe fails while stopping",
			cmds: []svcCmd{svcStop},
			probe: func(ctx context.Context) error {
				<-ctx.Done()
				return errSpool
			},
			wantStates: []svcState{svcStartPending, svcRunning, svcStopPending},
			wantErr:    errSpool,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds := make(chan svcCmd)
			go func() {
				for _, c := range tc.cmds {
					cmds <- c
				}
			}()
			var st states
			err := serveService(cmds, st.report, tc.probe)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.wantText != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("err = %v, want one saying %q", err, tc.wantText)
				}
			case err != nil:
				t.Errorf("err = %v, want nil after a stop", err)
			}
			if !slices.Equal(st.seen, tc.wantStates) {
				t.Errorf("states %v, want %v", st.seen, tc.wantStates)
			}
		})
	}
}
