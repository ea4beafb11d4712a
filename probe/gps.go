package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// Survey mode: a probe that moves (a field officer's laptop, a vehicle)
// takes each result's location from gpsd, the GPS daemon of Linux. gpsd
// speaks JSON over TCP (https://gpsd.io/gpsd_json.html); the part we need
// is one command and one report, so the client is written here on
// encoding/json rather than taken from a library.
const (
	// gpsMaxAge is how old a fix may be and still place a result. gpsd
	// reports once a second while the receiver has a fix; ten silent
	// seconds mean it has lost the sky (a tunnel, a building) or gpsd is
	// gone, and at 60 km/h the vehicle is 170 m on by then: less than a
	// zoom-15 tile, more than a receiver's error.
	gpsMaxAge = 10 * time.Second
	// gpsWatch asks gpsd to stream its reports as JSON.
	gpsWatch = `?WATCH={"enable":true,"json":true};` + "\n"
	// gpsMaxLine bounds one report; gpsd's own limit is 10 KiB.
	gpsMaxLine = 1 << 20
	// gpsBackoffCap bounds the wait between two connection attempts.
	gpsBackoffCap = 30 * time.Second
)

// gpsFix is one position gpsd reported.
type gpsFix struct {
	wire.Location
	// Time is the receiver's time of the fix; zero when gpsd sent none.
	Time time.Time
	// Received is the probe's clock when the report arrived. A fix's age
	// counts from here, on the monotonic clock: the receiver's time says
	// nothing about how current a replayed or buffered report is, and the
	// wall clock may be stepped by the very GPS it measures.
	Received time.Time
}

// gpsClient follows gpsd's TPV reports and keeps the latest fix. It is
// safe for concurrent use; a nil *gpsClient has no fix.
type gpsClient struct {
	addr string
	log  *slog.Logger
	last atomic.Pointer[gpsFix]

	// Seams for tests.
	now     func() time.Time
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	backoff func(failures int) time.Duration
	onFix   func(gpsFix) // nil: nothing; called from the reading goroutine
}

// newGPSClient returns a client of the gpsd at addr (host:port), or nil
// when addr is empty: survey mode is off.
func newGPSClient(addr string, log *slog.Logger) *gpsClient {
	if addr == "" {
		return nil
	}
	return &gpsClient{
		addr: addr, log: log.With("gpsd", addr), now: time.Now,
		dial:    (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		backoff: gpsBackoff,
	}
}

// gpsBackoff waits 1 s, 2 s, 4 s … up to 30 s between attempts. No
// jitter: gpsd is a local daemon that one probe talks to, not a server
// that many probes would hit at once.
func gpsBackoff(failures int) time.Duration {
	if failures > 5 {
		return gpsBackoffCap
	}
	return min(time.Second<<max(failures-1, 0), gpsBackoffCap)
}

// location is where a result was measured: the latest gps fix when it is
// at most gpsMaxAge old, else the configured location, else nil (the
// collector then places the result where the probe is registered).
func (p *Probe) location() *wire.Location {
	if l := p.gps.fresh(); l != nil {
		return l
	}
	if l := p.cfg.Location; l != nil {
		loc := *l
		return &loc
	}
	return nil
}

// fresh returns a copy of the latest fix's position when it is at most
// gpsMaxAge old, else nil.
func (g *gpsClient) fresh() *wire.Location {
	if g == nil {
		return nil
	}
	f := g.last.Load()
	if f == nil {
		return nil
	}
	if age := g.now().Sub(f.Received); age < 0 || age > gpsMaxAge {
		return nil
	}
	loc := f.Location
	return &loc
}

// run follows gpsd until ctx ends, reconnecting with backoff whenever the
// connection fails or closes. A nil client returns at once.
func (g *gpsClient) run(ctx context.Context) {
	if g == nil {
		return
	}
	failures := 0
	for ctx.Err() == nil {
		fixes, err := g.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if fixes > 0 {
			failures = 0
		}
		failures++
		wait := g.backoff(failures)
		if failures == 1 {
			g.log.Warn("gpsd: no connection; results are placed without gps meanwhile", "err", err, "retry_in", wait)
		} else {
			g.log.Debug("gpsd: still no connection", "err", err, "retry_in", wait, "failures", failures)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// follow connects, asks for reports and reads them until the connection
// ends or ctx does. It returns how many fixes it took.
func (g *gpsClient) follow(ctx context.Context) (fixes int, err error) {
	conn, err := g.dial(ctx, "tcp", g.addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write([]byte(gpsWatch)); err != nil {
		return 0, fmt.Errorf("send WATCH: %w", err)
	}
	g.log.Info("gpsd: connected")
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 16<<10), gpsMaxLine)
	for sc.Scan() {
		f, ok, err := parseGPSReport(sc.Bytes())
		if err != nil {
			g.log.Warn("gpsd: report skipped", "err", err)
			continue
		}
		if !ok {
			continue
		}
		f.Received = g.now()
		if fixes == 0 {
			g.log.Info("gpsd: fix", "lat", f.Lat, "lon", f.Lon)
		}
		fixes++
		g.last.Store(&f)
		if g.onFix != nil {
			g.onFix(f)
		}
	}
	if err := sc.Err(); err != nil {
		return fixes, fmt.Errorf("read: %w", err)
	}
	return fixes, errGPSClosed
}

// errGPSClosed is the end of a connection that gpsd closed.
var errGPSClosed = errors.New("gps: gpsd closed the connection")

// gpsReport holds the fields of a gpsd report that we read.
type gpsReport struct {
	Class   string   `json:"class"`
	Mode    int      `json:"mode"`
	Time    string   `json:"time"`
	Lat     *float64 `json:"lat"`
	Lon     *float64 `json:"lon"`
	Message string   `json:"message"`
}

// parseGPSReport reads one line from gpsd. ok is true for a TPV report
// with a 2D or 3D fix (mode ≥ 2) and a position; other reports (VERSION,
// DEVICES, SKY, a TPV without a fix) are not errors. Positions are kept
// to 1e-6° (0.1 m): the digits below are noise for any receiver a probe
// carries, and each costs bytes on the wire.
func parseGPSReport(line []byte) (f gpsFix, ok bool, err error) {
	var r gpsReport
	if err := json.Unmarshal(line, &r); err != nil {
		return f, false, fmt.Errorf("gps: decode report: %w", err)
	}
	switch {
	case r.Class == "ERROR":
		return f, false, fmt.Errorf("gps: gpsd says: %s", r.Message)
	case r.Class != "TPV" || r.Mode < 2 || r.Lat == nil || r.Lon == nil:
		return f, false, nil
	}
	lat, lon := *r.Lat, *r.Lon
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return f, false, fmt.Errorf("gps: TPV position (%g, %g) is out of range", lat, lon)
	}
	f.Lat, f.Lon = math.Round(lat*1e6)/1e6, math.Round(lon*1e6)/1e6
	if r.Time != "" {
		f.Time, _ = time.Parse(time.RFC3339Nano, r.Time)
	}
	return f, true, nil
}
