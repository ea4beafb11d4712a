package check

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/jangkau/jangkau/probe/check/icmpapi"
)

// sentConn keeps what an echoSocket sends.
type sentConn struct{ msgs [][]byte }

func (c *sentConn) recv([]byte) ([]byte, netip.Addr, time.Time, error) {
	return nil, netip.Addr{}, time.Time{}, net.ErrClosed
}
func (c *sentConn) send(msg []byte, _ *net.IPAddr) error {
	c.msgs = append(c.msgs, append([]byte(nil), msg...))
	return nil
}
func (c *sentConn) Close() error { return nil }

// A reply from the ICMP API, made into a message by icmpapi.ReplyMessage (icmp_windows.go),
// must be matched by deliver like one read from a socket.
func TestEchoReplyMessageIsDelivered(t *testing.T) {
	conn := &sentConn{}
	s := newEchoSocket(echoKey{}, conn)
	run := newEchoRun(2)
	dst := &net.IPAddr{IP: net.IPv4(192, 0, 2, 1)}
	for n := range 2 {
		if err := s.send(run, n, dst, 56); err != nil {
			t.Fatal(err)
		}
	}
	if len(conn.msgs) != 2 {
		t.Fatalf("sent %d requests, want 2", len(conn.msgs))
	}
	from := netip.MustParseAddr("192.0.2.1")
	s.deliver(icmpapi.ReplyMessage(conn.msgs[1], conn.msgs[1][icmpHeaderLen:]), from, time.Now())
	select {
	case r := <-run.replies:
		if r.n != 1 {
			t.Errorf("reply matched request %d, want 1", r.n)
		}
	default:
		t.Fatal("the reply made from request 1 was not matched")
	}
	// The payload of another request does not match.
	s.deliver(icmpapi.ReplyMessage(conn.msgs[0], conn.msgs[1][icmpHeaderLen:]), from, time.Now())
	if len(run.replies) != 0 {
		t.Error("a reply carrying another request's tag was matched")
	}
}
