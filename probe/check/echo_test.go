package check

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
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
