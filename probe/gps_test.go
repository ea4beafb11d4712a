package probe

import (
	"context"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/gpsfake"
	"github.com/jangkau/jangkau/wire"
)

// surveyDrive is a drive across two kecamatan, replayed by gpsfake.
const surveyDrive = "testdata/survey-drive.nmea"

func TestParseGPSReport(t *testing.T) {
	tests := []struct {
		name, line string
		want       *gpsFix // nil: no fix
		wantErr    string
	}{
		{"3D fix", `{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2026-11-27T03:00:07.000Z","lat":0.255833333,"lon":100.510000000,"altHAE":30.0}`,
			&gpsFix{Location: wire.Location{Lat: 0.255833, Lon: 100.51}, Time: time.Date(2026, 11, 27, 3, 0, 7, 0, time.UTC)}, ""},
		{"2D fix without time", `{"class":"TPV","mode":2,"lat":-6.1200004,"lon":106.15}`, &gpsFix{Location: wire.Location{Lat: -6.12, Lon: 106.15}}, ""},
		{"no fix", `{"class":"TPV","mode":1,"time":"2026-11-27T03:00:07.000Z"}`, nil, ""},
		{"mode without position", `{"class":"TPV","mode":3}`, nil, ""},
		{"mode unknown", `{"class":"TPV","mode":0,"lat":1,"lon":2}`, nil, ""},
		{"sky", `{"class":"SKY","satellites":[]}`, nil, ""},
		{"version", `{"class":"VERSION","release":"3.22","proto_major":3,"proto_minor":14}`, nil, ""},
		{"out of range", `{"class":"TPV","mode":3,"lat":91,"lon":2}`, nil, "(91, 2) is out of range"},
		{"gpsd error", `{"class":"ERROR","message":"Unrecognized request 'WATCHX'"}`, nil, "Unrecognized request"},
		{"garbage", `{"class":"TPV","mode":`, nil, "decode report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := parseGPSReport([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v (%+v), want %v", ok, got, tc.want != nil)
			}
			if ok && (got.Location != tc.want.Location || !got.Time.Equal(tc.want.Time)) {
				t.Errorf("fix %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// TestProbeLocation checks the order: a fresh fix, else the configured
// location, else none; a fix older than gpsMaxAge does not count.
func TestProbeLocation(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	fixed := &wire.Location{Lat: -6.31, Lon: 106.10}
	fix := &gpsFix{Location: wire.Location{Lat: 0.25, Lon: 100.45}}
	tests := []struct {
		name  string
		fixed *wire.Location
		gps   bool
		age   time.Duration // of the fix; -1: no fix yet
		want  *wire.Location
	}{
		{"no gps, no location", nil, false, 0, nil},
		{"no gps", fixed, false, 0, fixed},
		{"fresh fix", fixed, true, 0, &fix.Location},
		{"fix of exactly 10 s", fixed, true, gpsMaxAge, &fix.Location},
		{"stale fix falls back", fixed, true, gpsMaxAge + time.Millisecond, fixed},
		{"stale fix, no location", nil, true, time.Minute, nil},
		{"no fix yet", fixed, true, -1, fixed},
		{"fix from the future", fixed, true, -time.Second, fixed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Probe{cfg: &Config{Location: tc.fixed}}
			if tc.gps {
				p.gps = newGPSClient("127.0.0.1:2947", discard)
				p.gps.now = func() time.Time { return now }
				if tc.age != -1 {
					f := *fix
					f.Received = now.Add(-tc.age)
					p.gps.last.Store(&f)
				}
			}
			got := p.location()
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("location = %v, want %v", got, tc.want)
			}
			if got != nil && (got == tc.fixed || got == &fix.Location) {
				t.Error("location shares its pointer; each result needs its own copy")
			}
		})
	}
}

func TestGPSDConfig(t *testing.T) {
	const base = "id: a\ncollector: http://127.0.0.1:8080\ntoken: t\nchecks: [{name: a, kind: tcp, target: \"127.0.0.1:22\"}]\n"
	tests := []struct{ yaml, wantErr string }{
		{"gpsd: 127.0.0.1:2947", ""},
		{"gpsd: \"[::1]:2947\"\nlocation: {lat: -6.31, lon: 106.10}", ""},
		{"gpsd: 127.0.0.1", `gpsd "127.0.0.1" must be host:port`},
		{"gpsd: \":2947\"", `gpsd ":2947" must be host:port`},
		{"gpsd: localhost:gpsd", `gpsd "localhost:gpsd" must be host:port with a port in 1..65535`},
		{"gpsd: localhost:70000", `gpsd "localhost:70000"`},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := ParseConfig([]byte(base+tc.yaml), t.TempDir())
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// fixLog runs a gps client and records every fix it takes.
type fixLog struct {
	mu    sync.Mutex
	fixes []gpsFix
	dials atomic.Int32
}

func (l *fixLog) all() []gpsFix {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gpsFix(nil), l.fixes...)
}

// runGPS starts a client of addr that retries every 20 ms; it stops when
// the test ends.
func runGPS(t *testing.T, addr string) (*gpsClient, *fixLog) {
	t.Helper()
	g, l := newGPSClient(addr, discard), &fixLog{}
	g.backoff = func(int) time.Duration { return 20 * time.Millisecond }
	dial := g.dial
	g.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		l.dials.Add(1)
		return dial(ctx, network, addr)
	}
	g.onFix = func(f gpsFix) { l.mu.Lock(); l.fixes = append(l.fixes, f); l.mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return g, l
}

// cycleAt finds where got holds every fix of want, in order, one after
// the other: a whole pass of the log.
func cycleAt(got []gpsFix, want []gpsfake.Fix) int {
	for i := range got {
		if i+len(want) > len(got) {
			break
		}
		if matches(got[i:i+len(want)], want) {
			return i
		}
	}
	return -1
}

func matches(got []gpsFix, want []gpsfake.Fix) bool {
	for j, w := range want {
		g := got[j]
		if math.Abs(g.Lat-w.Lat) > 1e-6 || math.Abs(g.Lon-w.Lon) > 1e-6 || !g.Time.Equal(w.Time) {
			return false
		}
	}
	return true
}

// TestGPSClientFollowsGPSD replays the drive through the real gpsd and
// checks that the client takes each of its positions, in order, as the
// NMEA sentences give them.
func TestGPSClientFollowsGPSD(t *testing.T) {
	want, err := gpsfake.ReadRMC(surveyDrive)
	if err != nil || len(want) < 10 {
		t.Fatalf("read %s: %d fixes, %v", surveyDrive, len(want), err)
	}
	fake := gpsfake.Start(t, surveyDrive, 0, 50*time.Millisecond)
	g, l := runGPS(t, fake.Addr)
	waitFor(t, func() bool { return cycleAt(l.all(), want) >= 0 })

	// Every fix is one of the log's: gpsd invents nothing on the way.
	for i, f := range l.all() {
		if !isLogFix(want, f) {
			t.Errorf("fix %d %+v is not a position of %s", i, f, surveyDrive)
		}
	}
	if loc := g.fresh(); loc == nil {
		t.Error("no fresh fix while gpsd streams")
	}
}

func isLogFix(want []gpsfake.Fix, f gpsFix) bool {
	for _, w := range want {
		if math.Abs(f.Lat-w.Lat) <= 1e-6 && math.Abs(f.Lon-w.Lon) <= 1e-6 {
			return true
		}
	}
	return false
}

// TestGPSClientReconnects starts the client before gpsd, stops gpsd
// under it and starts it again: the client keeps trying and takes fixes
// from each gpsd in turn.
func TestGPSClientReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	_, l := runGPS(t, addr)
	waitFor(t, func() bool { return l.dials.Load() >= 3 }) // refused, and retried

	first := gpsfake.Start(t, surveyDrive, port, 50*time.Millisecond)
	waitFor(t, func() bool { return len(l.all()) > 0 })
	first.Stop()
	dials := l.dials.Load()
	waitFor(t, func() bool { return l.dials.Load() >= dials+2 }) // lost, and retried
	fixes := len(l.all())

	gpsfake.Start(t, surveyDrive, port, 50*time.Millisecond)
	waitFor(t, func() bool { return len(l.all()) > fixes })
}
