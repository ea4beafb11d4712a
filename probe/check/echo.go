package check

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// The icmp checks of a probe share one ICMP socket per family, socket
// kind and don't-fragment setting, as cloudprober does: one reader
// goroutine takes every reply off it and hands each to the run waiting
// for its sequence number. A run opens nothing and starts no goroutine,
// which is what makes a ping cheap enough to run every few seconds
// against a hundred targets on a small district server.
//
// pro-bing opens a socket, compiles a BPF filter and starts three
// goroutines for every run, and polls its reader, which is why it is not
// used (docs/benchmarks.md has the profile). The wire format is simple enough that the messages are built and parsed
// here; the socket options come from golang.org/x/net, as pro-bing's did.

// echoLinger is how long an unused socket stays open: a probe whose icmp
// checks run every few seconds keeps one socket for its life, one that
// pings once an hour does not hold a socket in between.
const echoLinger = 10 * time.Second

// echoTagLen is the tag at the start of every request's payload: the
// socket's nonce, then the send time (Unix ns, as ping(8) carries a
// timeval). A reply is matched only with its tag, so a stray reply to
// another process's request with the same identifier is ignored.
const echoTagLen = 16

// echoConn is the platform's ICMP socket (icmp_linux.go, icmp_other.go).
type echoConn interface {
	// recv reads one ICMP message, without IPv4 header, into b and
	// returns it with its sender and the time it arrived (the kernel's
	// receive stamp where the platform has one).
	recv(b []byte) (msg []byte, from netip.Addr, at time.Time, err error)
	// send writes one ICMP message to dst.
	send(msg []byte, dst *net.IPAddr) error
	Close() error
}

// echoKey names a shared socket.
type echoKey struct {
	v6, privileged, dontFragment bool
}

// Sockets are the ICMP sockets a probe's icmp checks share, opened on
// first use and closed echoLinger after their last run. The probe makes
// one set, gives it to NewKinds and closes it when its checks stop.
type Sockets struct {
	open   func(echoKey) (echoConn, error)
	linger time.Duration // 0 or less: close at once after the last run

	mu    sync.Mutex
	socks map[echoKey]*echoSocket
}

// NewSockets returns an empty set of sockets.
func NewSockets() *Sockets {
	return &Sockets{open: openEchoConn, linger: echoLinger}
}

// acquire returns the socket for k, opening it when there is none; the
// caller releases it after its run.
func (ss *Sockets) acquire(k echoKey) (*echoSocket, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.socks[k]; s != nil && s.readerStopped() {
		// Its reader met a permanent error: runs on it would see no
		// reply. Its users close it on release; new runs get a new one.
		delete(ss.socks, k)
		if s.refs == 0 {
			if s.idle != nil {
				s.idle.Stop()
			}
			ss.closeLocked(s)
		}
	}
	if s := ss.socks[k]; s != nil {
		s.refs++
		if s.idle != nil {
			s.idle.Stop()
			s.idle = nil
		}
		return s, nil
	}
	conn, err := ss.open(k)
	if err != nil {
		return nil, err
	}
	s := newEchoSocket(k, conn)
	s.refs = 1
	if ss.socks == nil {
		ss.socks = map[echoKey]*echoSocket{}
	}
	ss.socks[k] = s
	go s.read()
	return s, nil
}

// release ends a run's use of s; the last user closes it after
// echoLinger unless another run takes it first.
func (ss *Sockets) release(s *echoSocket) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.refs--; s.refs > 0 {
		return
	}
	if ss.linger <= 0 {
		ss.closeLocked(s)
		return
	}
	s.idle = time.AfterFunc(ss.linger, func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if s.refs == 0 && s.idle != nil {
			ss.closeLocked(s)
		}
	})
}

func (ss *Sockets) closeLocked(s *echoSocket) {
	if ss.socks[s.key] == s {
		delete(ss.socks, s.key)
	}
	s.idle = nil
	close(s.closing)
	s.conn.Close()
	<-s.done
}

// echoSocket is one shared socket and the requests waiting on it.
type echoSocket struct {
	key   echoKey
	conn  echoConn
	nonce [8]byte
	done  chan struct{} // closed when read returns
	// closing is closed by Sockets before the conn: it ends read's pause
	// between failed reads.
	closing chan struct{}

	refs int         // guarded by Sockets.mu
	idle *time.Timer // guarded by Sockets.mu

	mu    sync.Mutex
	seq   uint16
	id    uint16 // raw sockets: ours; datagram sockets: the kernel sets it
	waits map[uint16]echoWait
}

// echoWait is one request waiting for its reply.
type echoWait struct {
	run  *echoRun
	n    int // the request's number within its run
	dst  netip.Addr
	sent time.Time
}

// echoRun is one check run's requests and the replies to them.
type echoRun struct {
	replies chan echoReply // buffered for every request of the run
	seqs    []uint16       // the sequence numbers it used
}

type echoReply struct {
	n   int
	rtt time.Duration
}

func newEchoSocket(k echoKey, conn echoConn) *echoSocket {
	s := &echoSocket{key: k, conn: conn, done: make(chan struct{}), closing: make(chan struct{}), waits: map[uint16]echoWait{}}
	var b [12]byte
	rand.Read(b[:])
	copy(s.nonce[:], b[:8])
	s.id = binary.BigEndian.Uint16(b[8:])
	s.seq = binary.BigEndian.Uint16(b[10:])
	return s
}

func newEchoRun(count int) *echoRun {
	return &echoRun{replies: make(chan echoReply, count), seqs: make([]uint16, 0, count)}
}

// ICMP echo types and the offset of the payload.
const (
	icmpv4EchoRequest = 8
	icmpv4EchoReply   = 0
	icmpv6EchoRequest = 128
	icmpv6EchoReply   = 129
	icmpHeaderLen     = 8
)

// send writes request n of run to dst with a payload of size bytes.
func (s *echoSocket) send(run *echoRun, n int, dst *net.IPAddr, size int) error {
	addr, ok := netip.AddrFromSlice(dst.IP)
	if !ok {
		return &net.AddrError{Err: "not an IP address", Addr: dst.String()}
	}
	msg := make([]byte, icmpHeaderLen+size)
	msg[0] = icmpv4EchoRequest
	if s.key.v6 {
		msg[0] = icmpv6EchoRequest
	}
	copy(msg[icmpHeaderLen:], s.nonce[:])
	s.mu.Lock()
	seq := s.nextSeqLocked()
	binary.BigEndian.PutUint16(msg[4:], s.id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	sent := time.Now()
	binary.BigEndian.PutUint64(msg[icmpHeaderLen+8:], uint64(sent.UnixNano()))
	s.waits[seq] = echoWait{run: run, n: n, dst: addr.Unmap(), sent: sent}
	s.mu.Unlock()
	run.seqs = append(run.seqs, seq)
	if !s.key.v6 {
		// The kernel sums ICMPv6 (it covers a pseudo-header) but not
		// ICMPv4 on a raw socket.
		binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
	}
	return s.conn.send(msg, dst)
}

// nextSeqLocked returns a sequence number no request is waiting on.
func (s *echoSocket) nextSeqLocked() uint16 {
	for {
		s.seq++
		if _, busy := s.waits[s.seq]; !busy {
			return s.seq
		}
	}
}

// forget drops run's requests that got no reply, so that a late reply
// finds nothing and a sequence number can be used again.
func (s *echoSocket) forget(run *echoRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range run.seqs {
		if w, ok := s.waits[seq]; ok && w.run == run {
			delete(s.waits, seq)
		}
	}
}

// Pauses between failed reads: a read error may be one datagram's
// (ENOBUFS, EINTR), or last; doubling the pause from readRetryMin to
// readRetryMax keeps a lasting one from spinning a core, while a single
// failure costs a millisecond.
const (
	readRetryMin = time.Millisecond
	readRetryMax = time.Second
)

// read hands each echo reply to the run waiting for it until the socket
// is closed, or its reads fail for good (readerStopped).
func (s *echoSocket) read() {
	defer close(s.done)
	buf := make([]byte, 2048) // a longer reply is cut: only its head counts
	var pause time.Duration
	for {
		msg, from, at, err := s.conn.recv(buf)
		switch {
		case err == nil:
			pause = 0
			s.deliver(msg, from, at)
			continue
		case errors.Is(err, net.ErrClosed), permanentReadError(err):
			return
		}
		pause = min(max(2*pause, readRetryMin), readRetryMax)
		t := time.NewTimer(pause)
		select {
		case <-s.closing:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// permanentReadError says whether a read error will come again on every
// read of this socket: it is gone or was never one.
func permanentReadError(err error) bool {
	for _, e := range []error{syscall.EBADF, syscall.ENOTSOCK, syscall.EINVAL, syscall.EFAULT, syscall.ENOTCONN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// readerStopped says whether read has returned; on a socket that is
// still in use, that means a permanent read error.
func (s *echoSocket) readerStopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// deliver matches one message to its waiting request.
func (s *echoSocket) deliver(msg []byte, from netip.Addr, at time.Time) {
	want := byte(icmpv4EchoReply)
	if s.key.v6 {
		want = icmpv6EchoReply
	}
	if len(msg) < icmpHeaderLen+echoTagLen || msg[0] != want || msg[1] != 0 {
		return
	}
	id, seq := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:])
	if s.key.privileged && id != s.id {
		return // a raw socket sees every process's replies
	}
	if string(msg[icmpHeaderLen:icmpHeaderLen+8]) != string(s.nonce[:]) {
		return
	}
	s.mu.Lock()
	w, ok := s.waits[seq]
	if ok && w.dst == from.Unmap() && binary.BigEndian.Uint64(msg[icmpHeaderLen+8:]) == uint64(w.sent.UnixNano()) {
		delete(s.waits, seq)
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return // late, duplicated or not ours
	}
	rtt := at.Sub(w.sent)
	if now := time.Now(); rtt < 0 || at.After(now) {
		rtt = now.Sub(w.sent) // the wall clock stepped: the reader's own time
	}
	select {
	case w.run.replies <- echoReply{n: w.n, rtt: rtt}:
	default: // cannot happen: one slot per request
	}
}

// icmpChecksum is the Internet checksum (RFC 1071) of an ICMPv4 message
// whose checksum field is zero.
func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Close closes the sockets no run is using now, without waiting for
// their linger; a probe whose checks stopped calls it. A run after Close
// opens its socket again.
func (ss *Sockets) Close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.socks {
		if s.refs == 0 {
			if s.idle != nil {
				s.idle.Stop()
			}
			ss.closeLocked(s)
		}
	}
}
