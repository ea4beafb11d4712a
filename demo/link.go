package demo

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Link stands for a district's uplink on loopback: TCP relays to services
// that add delay and go down together for random spells. While down the
// link does not listen at all, so connects are refused, as they are for a
// real probe whose link is gone.
type Link struct {
	delay            time.Duration // added to every chunk, each way
	meanUp, meanDown time.Duration // meanUp 0: never down
	routes           []route
	rng              *rand.Rand
}

type route struct{ addr, upstream string }

// NewLink makes a link; add routes with Forward before Run.
func NewLink(delay, meanUp, meanDown time.Duration, seed uint64) *Link {
	return &Link{delay: delay, meanUp: meanUp, meanDown: meanDown,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Forward reserves a loopback address that relays to upstream and returns it.
func (l *Link) Forward(upstream string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	l.routes = append(l.routes, route{addr, upstream})
	return addr, nil
}

func (l *Link) spell(mean time.Duration) time.Duration {
	return time.Duration(l.rng.ExpFloat64() * float64(mean))
}

// Run relays until ctx ends, going down and up on the link's schedule.
func (l *Link) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		var lns []net.Listener
		for _, r := range l.routes {
			ln, err := net.Listen("tcp", r.addr)
			if err != nil {
				continue // taken while the link was down; this route stays down
			}
			lns = append(lns, ln)
			wg.Go(func() { l.accept(ctx, ln, r.upstream) })
		}
		ended := sleepUntil(ctx, l.meanUp, l.spell)
		for _, ln := range lns {
			ln.Close()
		}
		if ended || !sleep(ctx, l.spell(l.meanDown)) {
			return
		}
	}
}

// sleepUntil sleeps for a spell of mean length, or until ctx ends when
// mean is 0; it reports whether ctx ended.
func sleepUntil(ctx context.Context, mean time.Duration, spell func(time.Duration) time.Duration) bool {
	if mean == 0 {
		<-ctx.Done()
		return true
	}
	return !sleep(ctx, spell(mean))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (l *Link) accept(ctx context.Context, ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go l.relay(ctx, c, upstream)
	}
}

func (l *Link) relay(ctx context.Context, c net.Conn, upstream string) {
	defer c.Close()
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(l.delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}
