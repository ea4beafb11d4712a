package importer

import (
	"math"
	"strconv"
	"strings"

	"github.com/jangkau/jangkau/collector/evidence"
)

// StrongDownKbps is the download speed from which a measurement (an
// Ookla tile's average or one speed test) counts as a strong signal;
// below it, above zero, the signal is weak; a download of zero is no
// signal. 5 Mbit/s is what a district's public services need from one
// phone or village office: a video call, or uploading scanned documents
// to an e-service, without stalling. A 4G/LTE cell under ordinary load
// gives a good deal more, while 3G (HSPA) and a 4G cell at its edge or
// overloaded fall below it, so the line separates "usable" from "there,
// but weak" where planners draw it. docs/evidence.md gives the rule.
const StrongDownKbps = 5000

// SignalOfDownload is the signal a measured download speed (kbit/s) says.
func SignalOfDownload(kbps float64) evidence.Signal {
	switch {
	case kbps <= 0:
		return evidence.SignalNone
	case kbps < StrongDownKbps:
		return evidence.SignalWeak
	}
	return evidence.SignalStrong
}

// Largest values accepted, to catch a wrong unit or column: 10 Gbit/s is
// above any phone or fixed line's test, a minute of latency above any
// network that answers at all.
const (
	maxKbps      = 10_000_000
	maxLatencyMS = 60_000
)

// number parses a finite, non-negative decimal; a decimal comma (12,5) is
// accepted as spreadsheets in an Indonesian locale write it.
func number(s string) (float64, bool) {
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, false
	}
	return v, true
}

// count parses a non-negative integer (a Parquet double holding a whole
// number, "12" or "12.0", is accepted).
func count(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0
	}
	v, ok := number(s)
	if !ok || v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, false
	}
	return int(v), true
}
