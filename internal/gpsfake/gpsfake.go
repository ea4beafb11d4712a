// Package gpsfake runs the real gpsd on an NMEA log for tests, through
// gpsfake (Debian: apt-get install gpsd gpsd-clients), and reads the
// positions an NMEA log holds, so that a test can compare what gpsd
// reports with what the log says.
package gpsfake

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/internal/testlog"
)

// Fix is one position of an NMEA log.
type Fix struct {
	Lat, Lon float64
	Time     time.Time
}

// ReadRMC returns the valid fixes of the RMC sentences of the NMEA log at
// path, in order. A sentence whose checksum is wrong is an error.
func ReadRMC(path string) ([]Fix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Fix
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "$") {
			continue
		}
		body, sum, ok := strings.Cut(line[1:], "*")
		if !ok || sum != checksum(body) {
			return nil, fmt.Errorf("%s:%d: checksum %q, want %s", path, n, sum, checksum(body))
		}
		fs := strings.Split(body, ",")
		if !strings.HasSuffix(fs[0], "RMC") || len(fs) < 10 || fs[2] != "A" {
			continue
		}
		var fix Fix
		var errs [3]error
		fix.Lat, errs[0] = degrees(fs[3], fs[4], "N", "S")
		fix.Lon, errs[1] = degrees(fs[5], fs[6], "E", "W")
		fix.Time, errs[2] = time.Parse("020106 150405.00", fs[9]+" "+fs[1])
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
		}
		out = append(out, fix)
	}
	return out, sc.Err()
}

// degrees converts NMEA's [d]ddmm.mmmm and its hemisphere to degrees.
func degrees(v, hemi, pos, neg string) (float64, error) {
	dot := strings.IndexByte(v, '.')
	if dot < 3 {
		return 0, fmt.Errorf("%q is not [d]ddmm.mmmm", v)
	}
	d, err1 := strconv.Atoi(v[:dot-2])
	m, err2 := strconv.ParseFloat(v[dot-2:], 64)
	if err1 != nil || err2 != nil || m >= 60 {
		return 0, fmt.Errorf("%q is not [d]ddmm.mmmm", v)
	}
	deg := float64(d) + m/60
	switch hemi {
	case pos:
		return deg, nil
	case neg:
		return -deg, nil
	}
	return 0, fmt.Errorf("hemisphere %q is not %s or %s", hemi, pos, neg)
}

func checksum(body string) string {
	var x byte
	for i := range len(body) {
		x ^= body[i]
	}
	return fmt.Sprintf("%02X", x)
}

// Session is a running gpsfake with its own gpsd.
type Session struct {
	// Addr is where its gpsd listens: 127.0.0.1:port.
	Addr string
	cmd  *exec.Cmd
	out  *testlog.Buffer
	once sync.Once
}

// Start replays the NMEA log at path in a loop, one sentence every cycle,
// into a gpsd that listens on 127.0.0.1:port (0: a free port), and waits
// until that gpsd accepts connections. Without gpsfake or gpsd it skips
// the test, or fails it in CI, where they must be installed (testenv). The
// session stops when the test ends.
func Start(t testing.TB, path string, port int, cycle time.Duration) *Session {
	t.Helper()
	fake, gpsd := lookPath("gpsfake"), lookPath("gpsd")
	if fake == "" || gpsd == "" {
		msg := "gpsfake and gpsd are not installed (Debian: apt-get install gpsd gpsd-clients)"
		testenv.Missing(t, "%s", msg)
	}
	if port == 0 {
		port = freePort(t)
	}
	s := &Session{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), out: &testlog.Buffer{}}
	s.cmd = exec.Command(fake, "-q", "-P", strconv.Itoa(port), "-c", strconv.FormatFloat(cycle.Seconds(), 'f', -1, 64), path)
	// gpsfake finds gpsd on PATH, which lacks /usr/sbin for most users.
	s.cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":"+dir(gpsd))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	ownGroup(s.cmd)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start gpsfake: %v", err)
	}
	t.Cleanup(s.Stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("gpsd of gpsfake not listening on %s within 10 s; its output:\n%s", s.Addr, s.out)
		}
	}
}

// Stop ends gpsfake and its gpsd and waits for them. It may be called
// more than once.
func (s *Session) Stop() {
	s.once.Do(func() {
		// An interrupt lets gpsfake stop its gpsd; a kill if it does not.
		interrupt(s.cmd)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			kill(s.cmd)
			<-done
		}
	})
}

// Output is what gpsfake and gpsd wrote so far, for failure messages.
func (s *Session) Output() string { return s.out.String() }

func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p, err := exec.LookPath(d + "/" + name); err == nil {
			return p
		}
	}
	return ""
}

func dir(path string) string { return path[:strings.LastIndexByte(path, '/')] }

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
