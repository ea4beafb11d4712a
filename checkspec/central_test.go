package checkspec

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// fifo makes a named pipe nobody writes to: opening it for reading
// blocks, so a validation that opens it hangs instead of passing. The
// cleanup opens the writing end, which releases such a reader.
func fifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	return path
}

// TestValidateCentral: a central check that names a file is refused
// before the file is opened (a FIFO would block the open), and its
// interval has a floor; a local check may still name its files.
func TestValidateCentral(t *testing.T) {
	pipe := fifo(t)
	http := CheckConfig{Name: "c", Kind: wire.KindHTTP, Target: "https://127.0.0.1/", Interval: 10 * time.Second, Timeout: time.Second}
	tcp := CheckConfig{Name: "c", Kind: wire.KindTCP, Target: "127.0.0.1:993", Interval: 10 * time.Second, Timeout: time.Second}
	httpCA, tcpCA, fast := http, tcp, tcp
	httpCA.HTTP = &HTTPOptions{TLS: &TLSOptions{CAFile: pipe}}
	tcpCA.TCP = &TCPOptions{TLS: true, TLSConfig: &TLSOptions{CAFile: "/dev/zero"}}
	fast.Interval, fast.Timeout = 10*time.Millisecond, 5*time.Millisecond
	tests := []struct {
		name      string
		cc        CheckConfig
		wantField string
		wantErr   string
	}{
		{"ok", http, "", ""},
		{"http ca_file", httpCA, "http.tls.ca_file", `http.tls.ca_file "` + pipe + `" names a file; a central check may not`},
		{"tcp ca_file", tcpCA, "tcp.tls_config.ca_file", `tcp.tls_config.ca_file "/dev/zero" names a file; a central check may not`},
		{"interval floor", fast, "interval", "interval (10ms) must be at least 1s in a central check"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.cc.ValidateCentral() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ValidateCentral did not return within 5 s: it opened the file")
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateCentral: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want a *FieldError on %s starting %q", err, tc.wantField, tc.wantErr)
			}
		})
	}
	if err := fast.Validate(); err != nil {
		t.Errorf("a local check has no interval floor: %v", err)
	}
}

// TestReadFileLimit: a file a config names is read up to MaxFileBytes; a
// larger one (a device or a log named by mistake) is refused with the
// key, the file and the limit, without reading it whole.
func TestReadFileLimit(t *testing.T) {
	dir := t.TempDir()
	fits, big := filepath.Join(dir, "fits"), filepath.Join(dir, "big")
	for path, size := range map[string]int64{fits: MaxFileBytes, big: MaxFileBytes + 1} {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
	}
	if b, err := ReadFile("token_file", fits); err != nil || len(b) != MaxFileBytes {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(b), err)
	}
	_, err := ReadFile("tls.ca_file", big)
	want := `tls.ca_file "` + big + `" is larger than ` + strconv.Itoa(MaxFileBytes) + " bytes"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one starting %q", err, want)
	}
	// The same limit guards a check's ca_file.
	cc := CheckConfig{Name: "c", Kind: wire.KindHTTP, Target: "https://127.0.0.1/", Interval: time.Minute, Timeout: time.Second,
		HTTP: &HTTPOptions{TLS: &TLSOptions{CAFile: big}}}
	if err := cc.Validate(); err == nil || !strings.Contains(err.Error(), "http.tls.ca_file") || !strings.Contains(err.Error(), "is larger than") {
		t.Errorf("local check with a huge ca_file: %v", err)
	}
}

// TestHostLoad: the runs per second of the checks that contact a host
// add up, whatever the port, and one over MaxHostRate is refused naming
// the host and the checks already there; a dns check loads its server,
// not the name it asks about.
func TestHostLoad(t *testing.T) {
	tcp := func(name, target string, interval time.Duration) CheckConfig {
		return CheckConfig{Name: name, Kind: wire.KindTCP, Target: target, Interval: interval, Timeout: 500 * time.Millisecond}
	}
	var l HostLoad
	l.Add(tcp("local", "127.0.0.1:22", time.Second)) // a local check counts, never refused
	if err := l.Admit(tcp("a", "127.0.0.1:80", time.Second)); err != nil {
		t.Fatalf("2 runs/s: %v", err)
	}
	err := l.Admit(tcp("b", "[::ffff:127.0.0.1]:443", 10*time.Second)) // the same address
	want := "interval (10s) would make 2.1 runs per second against host 127.0.0.1 together with checks local, a; at most 2 per host"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one starting %q", err, want)
	}
	err = l.Admit(tcp("c", "127.0.0.1:443", 10*time.Second))
	want = "interval (10s) would make 2.1 runs per second against host 127.0.0.1 together with checks local, a; at most 2 per host"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one starting %q", err, want)
	}
	if err := l.Admit(tcp("d", "127.0.0.2:80", time.Second)); err != nil {
		t.Errorf("a refused check counted against its host: %v", err)
	}
	dns := CheckConfig{Name: "n", Kind: wire.KindDNS, Target: "127.0.0.1", Interval: time.Second, Timeout: 500 * time.Millisecond,
		DNS: &DNSOptions{Server: "127.0.0.53:53"}}
	if err := l.Admit(dns); err != nil {
		t.Errorf("a dns check loads its server, not its name: %v", err)
	}
	if got := dns.Hosts(); len(got) != 1 || got[0] != "127.0.0.53" {
		t.Errorf("dns hosts %v", got)
	}
}
