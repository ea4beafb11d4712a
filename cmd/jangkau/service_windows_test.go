package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
)

// Execute reports Running with Stop and Shutdown accepted, answers an
// Interrogate, and on Shutdown stops the probe and reports success.
func TestServiceHandlerExecute(t *testing.T) {
	stopped := make(chan struct{})
	h := &serviceHandler{log: slog.New(slog.NewTextHandler(io.Discard, nil)), probe: func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	}}
	reqs := make(chan svc.ChangeRequest)
	status := make(chan svc.Status, 10)
	type result struct {
		ssec bool
		code uint32
	}
	done := make(chan result, 1)
	go func() {
		ssec, code := h.Execute(nil, reqs, status)
		done <- result{ssec, code}
	}()
	next := func() svc.Status {
		t.Helper()
		select {
		case st := <-status:
			return st
		case <-time.After(5 * time.Second):
			t.Fatal("no status reported")
		}
		return svc.Status{}
	}
	if st := next(); st.State != svc.StartPending {
		t.Fatalf("first state %d, want StartPending", st.State)
	}
	if st := next(); st.State != svc.Running || st.Accepts != svc.AcceptStop|svc.AcceptShutdown {
		t.Fatalf("second status %+v, want Running accepting stop and shutdown", st)
	}
	reqs <- svc.ChangeRequest{Cmd: svc.Interrogate}
	if st := next(); st.State != svc.Running {
		t.Fatalf("after Interrogate %+v, want Running", st)
	}
	reqs <- svc.ChangeRequest{Cmd: svc.Shutdown}
	if st := next(); st.State != svc.StopPending {
		t.Fatalf("after Shutdown %+v, want StopPending", st)
	}
	<-stopped
	if r := <-done; r.ssec || r.code != 0 {
		t.Errorf("Execute = %v, %d after a stop, want false, 0", r.ssec, r.code)
	}
}
