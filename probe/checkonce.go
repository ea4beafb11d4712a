package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/wire"
	"github.com/miekg/dns"
)

// CheckOnce runs every check of cfg once, now, and writes a table (or, with
// asJSON, one JSON Result per line) to w: `jangkau check`, for an operator
// installing a probe to see what it will report before it reports. It runs
// the checks concurrently (at most cfg.Concurrency at once), each under its
// own timeout, and writes them in config order. It touches neither the
// spool nor the collector, and returns how many checks failed.
func CheckOnce(ctx context.Context, cfg *Config, log *slog.Logger, w io.Writer, asJSON bool) (failed int, err error) {
	sockets := check.NewSockets()
	defer sockets.Close()
	kinds := cfg.Allow.kinds(sockets)
	checkers := make([]check.Checker, len(cfg.Checks))
	for i, cc := range cfg.Checks {
		newChecker, ok := kinds[cc.Kind]
		if !ok {
			return 0, fmt.Errorf("checks[%d].kind %q is not one of %s", i, cc.Kind, strings.Join(kinds.Names(), ", "))
		}
		if checkers[i], err = newChecker(cc); err != nil {
			return 0, fmt.Errorf("checks[%d].%w", i, err)
		}
	}
	results := make([]wire.Result, len(checkers))
	sem := make(chan struct{}, max(cfg.Concurrency, 1))
	var wg sync.WaitGroup
	for i, c := range checkers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, cfg.Checks[i].Timeout)
			defer cancel()
			results[i] = c.Run(rctx, log)
			log.Debug("check done", "check", results[i].Check, "ok", results[i].OK, "duration_ms", results[i].DurationMS)
		})
	}
	wg.Wait()
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return failed, err
			}
		}
		return failed, nil
	}
	return failed, writeTable(w, results)
}

// writeTable prints one aligned line per result.
func writeTable(w io.Writer, results []wire.Result) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tKIND\tTARGET\tRESULT\tMS\tDETAILS\tERROR")
	for _, r := range results {
		result := "ok"
		if !r.OK {
			result = "FAIL " + string(r.ErrorClass)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n", r.Check, r.Kind, r.Target, result, r.DurationMS, details(r), r.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads the empty error column of a passing check.
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// details renders a result's phases in the order that reads best for its
// kind; phases not listed (rtt_<seq>) follow sorted by name.
func details(r wire.Result) string {
	var order []string
	switch r.Kind {
	case wire.KindHTTP:
		order = []string{"resolve", "connect", "tls", "processing", "transfer"}
	case wire.KindTCP:
		order = []string{"connect", "tls"}
	case wire.KindICMP:
		order = []string{"resolve", "sent", "received", "loss", "rtt_min", "rtt_avg", "rtt_max", "rtt_stddev"}
	case wire.KindDNS:
		order = []string{"rcode", "answers", "exchange"}
	}
	var parts []string
	if r.StatusCode != 0 {
		parts = append(parts, "status="+strconv.Itoa(r.StatusCode))
	}
	shown := map[string]bool{check.CertExpiryPhase: true}
	for _, name := range order {
		if v, ok := r.Phases[name]; ok {
			parts = append(parts, name+"="+phaseText(r.Kind, name, v))
			shown[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Phases)) {
		if !shown[name] {
			parts = append(parts, name+"="+phaseText(r.Kind, name, r.Phases[name]))
		}
	}
	if v, ok := r.Phases[check.CertExpiryPhase]; ok {
		parts = append(parts, fmt.Sprintf("cert_expiry=%.0fd", v))
	}
	return strings.Join(parts, " ")
}

func phaseText(kind, name string, v float64) string {
	switch {
	case kind == wire.KindDNS && name == "rcode":
		if s, ok := dns.RcodeToString[int(v)]; ok {
			return s
		}
	case name == "sent" || name == "received" || name == "answers":
		return strconv.Itoa(int(v))
	case name == "loss":
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
