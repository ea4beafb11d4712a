package collector

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jangkau/jangkau/collector/apikey"
)

// refusedTokens logs requests from probes whose token the collector does
// not know: a probe set up with the wrong token file otherwise retries
// for ever and the collector says nothing. At most one line every 10 s
// (a burst of 3); the next line counts what was left out. It logs the
// first 12 hex digits of the sha256 of what was presented, which an
// operator can compare with token_sha256 in the config, never the token.
type refusedTokens struct {
	limit *rate.Limiter

	mu         sync.Mutex
	suppressed int
}

func newRefusedTokens() *refusedTokens {
	return &refusedTokens{limit: rate.NewLimiter(rate.Every(10*time.Second), 3)}
}

// note records a request refused for its token.
func (rt *refusedTokens) note(log *slog.Logger, r *http.Request) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.limit.Allow() {
		rt.suppressed++
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	presented := "none"
	if tok := apikey.FromRequest(r); tok != "" {
		sum := sha256.Sum256([]byte(tok))
		presented = hex.EncodeToString(sum[:6])
	}
	log.Warn("refused a probe token: no probes: entry has its token_sha256; check that probe's token file and its entry in the config",
		"remote", host, "path", r.URL.Path, "token_sha256_prefix", presented, "refused_since_last_line", rt.suppressed)
	rt.suppressed = 0
}
