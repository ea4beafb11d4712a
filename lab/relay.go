package lab

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// relayConfig is the router's delay relay: for each district, two TUN
// devices between which every packet of the district's link passes, held
// for half the round-trip delay in each direction. The kernel here has no
// netem, so this is how a link gets its latency.
type relayConfig struct {
	Links   []relayLink `json:"links"`
	Control string      `json:"control"`
}

type relayLink struct {
	Name  string        `json:"name"`
	A     string        `json:"a"` // district side: packets from the district are routed into A
	B     string        `json:"b"` // world side
	Delay time.Duration `json:"delay"`
}

// relayQueue bounds the packets held per direction, as a router's buffer
// would; past it packets are dropped.
const relayQueue = 8192

// packetPipe moves packets one way with a fixed delay.
type packetPipe interface {
	read(buf []byte) (int, error)
	write(pkt []byte) error
}

type heldPacket struct {
	due  time.Time
	data []byte
}

// relay holds the packets of one direction for *half (nanoseconds).
func relay(ctx context.Context, from, to packetPipe, half *atomic.Int64, log *slog.Logger) {
	q := make(chan heldPacket, relayQueue)
	go func() {
		defer close(q)
		lockThread()
		buf := make([]byte, 65536)
		for {
			n, err := from.read(buf)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("relay read", "err", err)
				}
				return
			}
			p := heldPacket{due: time.Now().Add(time.Duration(half.Load())), data: append([]byte(nil), buf[:n]...)}
			select {
			case q <- p:
			default: // the buffer is full: drop, as a router would
			}
		}
	}()
	lockThread()
	for p := range q {
		if ctx.Err() != nil {
			return
		}
		sleepUntil(p.due)
		if err := to.write(p.data); err != nil && ctx.Err() == nil {
			log.Debug("relay write", "err", err)
		}
	}
}

func serveRelay(ctx context.Context, path string, log *slog.Logger) error {
	var c relayConfig
	if err := readRoleConfig(path, &c); err != nil {
		return err
	}
	halves := map[string]*atomic.Int64{}
	for _, l := range c.Links {
		a, err := openTUN(l.A)
		if err != nil {
			return err
		}
		defer a.close()
		b, err := openTUN(l.B)
		if err != nil {
			return err
		}
		defer b.close()
		half := new(atomic.Int64)
		half.Store(int64(l.Delay / 2))
		halves[l.Name] = half
		go relay(ctx, a, b, half, log.With("link", l.Name, "dir", "up"))
		go relay(ctx, b, a, half, log.With("link", l.Name, "dir", "down"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /delay/{name}", func(w http.ResponseWriter, r *http.Request) {
		half := halves[r.PathValue("name")]
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if half == nil || err != nil || d < 0 {
			http.Error(w, "unknown link or bad d", http.StatusBadRequest)
			return
		}
		half.Store(int64(d / 2))
		log.Info("delay set", "link", r.PathValue("name"), "delay", d)
		fmt.Fprintln(w, "ok")
	})
	return controlServer(ctx, c.Control, mux)
}
