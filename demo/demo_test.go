package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
)

func TestLinkRelaysWithDelayAndGoesDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const delay = 50 * time.Millisecond
	up := NewLink(delay, 0, 0, 1)
	upAddr, err := up.Forward(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	go up.Run(ctx)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var resp *http.Response
	begin := time.Now()
	for time.Since(begin) < 2*time.Second {
		start := time.Now()
		if resp, err = client.Get("http://" + upAddr + "/"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A request and its answer each cross the link once.
			if took := time.Since(start); string(body) != "ok" || took < 2*delay {
				t.Fatalf("through the link: %q in %s, want ok in at least %s", body, took, 2*delay)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("link never came up: %v", err)
	}

	// A link that is up 1% of the time refuses almost every connect.
	down := NewLink(0, 10*time.Millisecond, time.Second, 2)
	downAddr, _ := down.Forward(srv.Listener.Addr().String())
	go down.Run(ctx)
	time.Sleep(100 * time.Millisecond)
	refused := 0
	for range 10 {
		c, err := net.DialTimeout("tcp", downAddr, time.Second)
		if err != nil {
			refused++
			continue
		}
		c.Close()
	}
	if refused < 8 {
		t.Errorf("%d of 10 connects refused on a link that is mostly down, want at least 8", refused)
	}
}

// TestDemo runs the demo as `jangkau demo` does and reads the collector's
// answer: the two districts with bad links are blank or degraded, the
// others good.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for about 20 s; skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Listen: "127.0.0.1:0", Interval: time.Second, Ready: func(u string) { ready <- u }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo.Run: %v", err)
		}
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("demo ended early: %v", err)
	}
	var got map[string]string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		var ok bool
		if got, ok = statuses(t, url+"api/v1/coverage?level=2"); !ok {
			continue
		}
		if settled(got) {
			break
		}
	}
	for code, st := range got {
		switch code {
		case "36.01", "36.02":
			if st != "blank" && st != "degraded" {
				t.Errorf("%s is %s, want blank or degraded", code, st)
			}
		default:
			if st != "good" {
				t.Errorf("%s is %s, want good", code, st)
			}
		}
	}
	if len(got) != 8 {
		t.Errorf("%d kabupaten/kota in the answer, want 8", len(got))
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Simulation") || !strings.Contains(string(page), "schematic") {
		t.Error("the map page does not say that the demo is a simulation with schematic shapes")
	}
}

func settled(st map[string]string) bool {
	if len(st) != 8 {
		return false
	}
	for code, s := range st {
		bad := code == "36.01" || code == "36.02"
		if (bad && s != "blank" && s != "degraded") || (!bad && s != "good") {
			return false
		}
	}
	return true
}

func statuses(t *testing.T, url string) (map[string]string, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var fc struct {
		Features []struct {
			Properties struct {
				Code, Status string
				Samples      int
			}
		}
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&fc) != nil {
		return nil, false
	}
	out := map[string]string{}
	for _, f := range fc.Features {
		out[f.Properties.Code] = f.Properties.Status
		if f.Properties.Samples < 10 {
			out[f.Properties.Code] = fmt.Sprintf("%s (only %d samples)", f.Properties.Status, f.Properties.Samples)
		}
	}
	return out, true
}

// TestDemoLogsQuietly: the demo's log has no warning from start to
// Ctrl-C. Its first line used to be a WARN about a metrics level the demo
// regions lack, and Ctrl-C gave one upload WARN per probe, since the
// collector stopped with them.
func TestDemoLogsQuietly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for about 5 s; skipped with -short")
	}
	logger, logs := testlog.New()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Listen: "127.0.0.1:0", Interval: time.Second, Log: logger, Ready: func(u string) { ready <- u }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("demo ended early: %v", err)
	}
	time.Sleep(4 * time.Second) // results spooled and uploaded, some in flight
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "probe stopped") {
		t.Fatalf("the log lacks the probes' stop:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("demo logged %s", line)
		}
	}
}
