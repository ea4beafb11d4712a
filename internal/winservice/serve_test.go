package winservice

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// states records what Serve reports, for the manager.
type states struct{ seen []State }

func (s *states) report(st State) { s.seen = append(s.seen, st) }

func TestServe(t *testing.T) {
	errSpool := errors.New("spool: flush failed")
	errConfig := errors.New("probe.yaml: collector.url is required")
	tests := []struct {
		name       string
		cmds       []Cmd
		probe      func(ctx context.Context) error
		wantStates []State
		wantErr    error  // errors.Is
		wantText   string // or a message
	}{
		{
			name: "stopped by the manager",
			cmds: []Cmd{Interrogate, Stop},
			probe: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			wantStates: []State{StartPending, Running, Running, StopPending},
		},
		{
			name:       "probe fails at start",
			probe:      func(context.Context) error { return errConfig },
			wantStates: []State{StartPending, Running},
			wantErr:    errConfig,
		},
		{
			name:       "probe returns by itself",
			probe:      func(context.Context) error { return nil },
			wantStates: []State{StartPending, Running},
			wantText:   "stopped by itself",
		},
		{
			name: "probe fails while stopping",
			cmds: []Cmd{Stop},
			probe: func(ctx context.Context) error {
				<-ctx.Done()
				return errSpool
			},
			wantStates: []State{StartPending, Running, StopPending},
			wantErr:    errSpool,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds := make(chan Cmd)
			go func() {
				for _, c := range tc.cmds {
					cmds <- c
				}
			}()
			var st states
			err := Serve(cmds, st.report, tc.probe)
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
