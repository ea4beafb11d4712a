package probe

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/common/version"
)

// Every batch names the probe's version, so that /api/v1/probes can show
// which districts run an old probe.
func TestUploaderSendsProbeVersion(t *testing.T) {
	defer func(v string) { version.Version = v }(version.Version)
	version.Version = "1.2.3-district"
	in := newIngest(t)
	srv := httptest.NewServer(in)
	defer srv.Close()
	s := openSpool(t, t.TempDir())
	if _, err := s.Add(results(3)...); err != nil {
		t.Fatal(err)
	}
	u := testUploader(t, srv.URL, s, discard)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return s.Len() == 0 })

	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.batches) == 0 {
		t.Fatal("no batch arrived")
	}
	for i, b := range in.batches {
		if b.ProbeVersion != "1.2.3-district" {
			t.Errorf("batch %d: probe_version %q, want 1.2.3-district", i, b.ProbeVersion)
		}
	}
}
