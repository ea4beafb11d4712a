package check

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// TestICMPSharedSocket runs many icmp checks at once, each against its
// own loopback address, on one shared socket: every run must get exactly
// its own replies, and one socket must serve them all.
func TestICMPSharedSocket(t *testing.T) {
	needICMP(t, false)
	opens := 0
	ss := &Sockets{open: func(k echoKey) (echoConn, error) { opens++; return openEchoConn(k) }, linger: time.Minute}
	defer ss.Close()
	const n = 40
	var wg sync.WaitGroup
	results := make([]wire.Result, n)
	for i := range n {
		target := fmt.Sprintf("127.0.0.%d", i+2)
		cc := checkspec.CheckConfig{Name: target, Kind: wire.KindICMP, Target: target, Timeout: 3 * time.Second,
			ICMP: &checkspec.ICMPOptions{Count: 4, Interval: 10 * time.Millisecond, RecordRTTs: true}}
		c, err := newICMPChecker(cc)
		if err != nil {
			t.Fatal(err)
		}
		c.(*icmpChecker).socks = ss
		wg.Go(func() { results[i] = runCheck(t, c, cc.Timeout) })
	}
	wg.Wait()
	for i, r := range results {
		if !r.OK || r.Phases["sent"] != 4 || r.Phases["received"] != 4 {
			t.Errorf("run %d (%s): ok=%v err=%q phases %v", i, r.Target, r.OK, r.Error, r.Phases)
		}
		for k := range 4 {
			if _, ok := r.Phases[fmt.Sprintf("rtt_%d", k)]; !ok {
				t.Errorf("run %d: no rtt_%d", i, k)
			}
		}
	}
	ss.mu.Lock()
	if opens != 1 || len(ss.socks) != 1 {
		t.Errorf("%d sockets opened, %d open; want 1 shared", opens, len(ss.socks))
	}
	for _, s := range ss.socks {
		if len(s.waits) != 0 || s.refs != 0 {
			t.Errorf("after the runs: %d requests still waiting, %d users", len(s.waits), s.refs)
		}
	}
	ss.mu.Unlock()
}

// TestEchoDeliverMatches feeds the reader's matcher replies that are not
// the run's: another process's (identifier), another socket's (nonce),
// another host's, a duplicate. Only the true reply may count. These
// cannot be made on demand with real traffic.
func TestEchoDeliverMatches(t *testing.T) {
	s := newEchoSocket(echoKey{privileged: true}, nil)
	run := newEchoRun(1)
	dst := netip.MustParseAddr("192.0.2.7")
	sent := time.Now().Add(-time.Second)
	s.mu.Lock()
	seq := s.nextSeqLocked()
	s.waits[seq] = echoWait{run: run, n: 0, dst: dst, sent: sent}
	s.mu.Unlock()
	reply := func(id uint16, nonce [8]byte, stamp time.Time) []byte {
		m := make([]byte, icmpHeaderLen+echoTagLen+8)
		m[0] = icmpv4EchoReply
		binary.BigEndian.PutUint16(m[4:], id)
		binary.BigEndian.PutUint16(m[6:], seq)
		copy(m[icmpHeaderLen:], nonce[:])
		binary.BigEndian.PutUint64(m[icmpHeaderLen+8:], uint64(stamp.UnixNano()))
		return m
	}
	at := sent.Add(3 * time.Millisecond)
	other := s.nonce
	other[0]++
	s.deliver(reply(s.id+1, s.nonce, sent), dst, at)                            // another process's
	s.deliver(reply(s.id, other, sent), dst, at)                                // another socket's
	s.deliver(reply(s.id, s.nonce, sent), netip.MustParseAddr("192.0.2.8"), at) // another host
	s.deliver(reply(s.id, s.nonce, sent.Add(time.Second)), dst, at)             // an older request's
	if len(run.replies) != 0 {
		t.Fatalf("a reply not to this request was taken: %v", <-run.replies)
	}
	s.deliver(reply(s.id, s.nonce, sent), dst, at)
	s.deliver(reply(s.id, s.nonce, sent), dst, at.Add(time.Millisecond)) // duplicate
	if len(run.replies) != 1 {
		t.Fatalf("%d replies taken, want 1", len(run.replies))
	}
	if r := <-run.replies; r.n != 0 || r.rtt != 3*time.Millisecond {
		t.Errorf("reply %+v, want request 0 and rtt 3ms", r)
	}
}

// TestICMPChecksum checks the sum against one worked by hand: the
// 16-bit words 0800 0000 1234 0001 6162 6364 add up to defb, whose
// complement is 2104.
func TestICMPChecksum(t *testing.T) {
	msg := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'a', 'b', 'c', 'd'}
	if got := icmpChecksum(msg); got != 0x2104 {
		t.Errorf("checksum %#04x, want 0x2104", got)
	}
	// An odd length pads with a zero byte: defb + 6500 = 143fb, the
	// carry folded in gives 43fc, complement bc03.
	if got := icmpChecksum(append(msg, 'e')); got != 0xbc03 {
		t.Errorf("odd-length checksum %#04x, want 0xbc03", got)
	}
}

// failingConn is an ICMP socket whose every read fails with err until it
// is closed.
type failingConn struct {
	err    error
	reads  atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func newFailingConn(err error) *failingConn {
	return &failingConn{err: err, closed: make(chan struct{})}
}

func (c *failingConn) recv([]byte) ([]byte, netip.Addr, time.Time, error) {
	c.reads.Add(1)
	select {
	case <-c.closed:
		return nil, netip.Addr{}, time.Time{}, net.ErrClosed
	default:
		return nil, netip.Addr{}, time.Time{}, c.err
	}
}

func (c *failingConn) send([]byte, *net.IPAddr) error { return nil }
func (c *failingConn) Close() error                   { c.once.Do(func() { close(c.closed) }); return nil }

// A read error that lasts does not spin the reader: it pauses, doubling
// up to readRetryMax, and closing the socket still ends it at once.
func TestEchoReaderBacksOff(t *testing.T) {
	conn := newFailingConn(&net.OpError{Op: "read", Net: "ip4:icmp", Err: os.NewSyscallError("recvmsg", syscall.ENOBUFS)})
	ss := &Sockets{open: func(echoKey) (echoConn, error) { return conn, nil }}
	s, err := ss.acquire(echoKey{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// Pauses of 1, 2, 4, ... 256 ms: 9 reads in 300 ms (a tight loop made
	// millions).
	if n := conn.reads.Load(); n < 2 || n > 12 {
		t.Errorf("%d reads in 300 ms of a lasting error, want about 9 (backing off, still retrying)", n)
	}
	start := time.Now()
	ss.release(s) // linger 0: closes at once
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("closing took %s: the reader's pause held it", d)
	}
}

// A permanent read error stops the reader, and the next run gets a new
// socket instead of one that will never deliver a reply.
func TestEchoReaderStopsOnPermanentError(t *testing.T) {
	var conns []*failingConn
	ss := &Sockets{open: func(echoKey) (echoConn, error) {
		c := newFailingConn(&net.OpError{Op: "read", Net: "ip4:icmp", Err: os.NewSyscallError("recvmsg", syscall.EBADF)})
		conns = append(conns, c)
		return c, nil
	}, linger: time.Minute}
	t.Cleanup(ss.Close)
	s, err := ss.acquire(echoKey{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Second):
		t.Fatalf("reader still running after 1 s of EBADF (%d reads)", conns[0].reads.Load())
	}
	if n := conns[0].reads.Load(); n != 1 {
		t.Errorf("%d reads after EBADF, want 1", n)
	}
	ss.release(s)
	s2, err := ss.acquire(echoKey{})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.release(s2)
	if s2 == s || len(conns) != 2 {
		t.Errorf("a run after the reader stopped got the same socket (%d opened), want a new one", len(conns))
	}
	select {
	case <-conns[0].closed:
	default:
		t.Error("the stopped socket was not closed")
	}
}
