package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jangkau/jangkau/wire"
)

var kinds = map[string]bool{wire.KindHTTP: true, wire.KindTCP: true, wire.KindICMP: true, wire.KindDNS: true}

// batchRules is what a batch is checked against.
type batchRules struct {
	// oldest and newest bound a result's time (see ClockConfig).
	oldest, newest time.Time
	maxResults     int
}

// decodedBatch is a batch with its good results and the rejections.
type decodedBatch struct {
	Probe    string
	SentAt   time.Time
	FirstSeq uint64
	Version  string
	Epoch    string
	Dropped  wire.Dropped
	BootID   string
	Results  []wire.Result
	Rejected []wire.Rejection
}

// errBadBatch is a body that is not a batch at all (400).
type errBadBatch struct{ err error }

func (e errBadBatch) Error() string { return "batch: " + e.err.Error() }
func (e errBadBatch) Unwrap() error { return e.err }

// decodeBatch decodes a (decompressed) batch in one pass, result by result,
// so that a malformed result is rejected without dropping its good
// neighbours. It reads r through a jsonGuard, so that no over-long value is
// ever held whole: a result holding one is rejected, naming the field and
// its length. It returns errBadBatch for a body that is not JSON or not a
// batch, errTooLarge for more than rules.maxResults results, and any
// errRead of r as it is. It does no I/O of its own: the fuzz target calls
// it with a bytes.Reader.
func decodeBatch(r io.Reader, rules batchRules) (*decodedBatch, error) {
	g := newJSONGuard(r)
	dec := json.NewDecoder(g)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	b := &decodedBatch{}
	seenResults := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badBatch(err)
		}
		key, _ := tok.(string)
		known := true
		switch key {
		case "probe":
			err = dec.Decode(&b.Probe)
		case "sent_at":
			err = dec.Decode(&b.SentAt)
		case "first_seq":
			err = dec.Decode(&b.FirstSeq)
		case "probe_version":
			if err = dec.Decode(&b.Version); err == nil {
				err = checkVersion(b.Version)
			}
		case "spool_epoch":
			if err = dec.Decode(&b.Epoch); err == nil {
				err = checkEpoch(b.Epoch)
			}
		case "dropped":
			err = dec.Decode(&b.Dropped)
		case "boot_id":
			if err = dec.Decode(&b.BootID); err == nil {
				err = checkEpoch(b.BootID)
			}
		case "results":
			if seenResults {
				return nil, errBadBatch{errors.New(`"results" given twice`)}
			}
			seenResults = true
			err = decodeResults(dec, g, b, rules)
		default:
			known = false
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if cuts := g.takeCuts(dec.InputOffset()); err == nil && known && len(cuts) > 0 {
			_, reason := cutRejection(cuts[0])
			err = errors.New(reason)
		}
		if err != nil {
			var tl errTooLarge
			if errors.As(err, &tl) || isReadError(err) {
				return nil, err
			}
			return nil, errBadBatch{fmt.Errorf("%s: %w", clip(key), err)}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if isReadError(err) {
			return nil, err
		}
		return nil, errBadBatch{errors.New("data after the batch object")}
	}
	return b, nil
}

// badBatch is err as errBadBatch, unless the reader failed.
func badBatch(err error) error {
	if isReadError(err) {
		return err
	}
	return errBadBatch{err}
}

// checkVersion bounds a probe's version: it is shown on /api/v1/probes.
func checkVersion(v string) error {
	if len(v) > wire.MaxVersionLen {
		return fmt.Errorf("%s is %d bytes, more than %d", clip(v), len(v), wire.MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return fmt.Errorf("%s has a byte that is not printable ASCII at %d", clip(v), i)
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return badBatch(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return errBadBatch{fmt.Errorf("want %q, got %s", want, clip(fmt.Sprint(tok)))}
	}
	return nil
}

// Physical bounds of a result's numbers. A duration (duration_ms, and
// every phase not named in phaseBounds) is at most a day: checkspec bounds
// no timeout, and no check a probe runs comes near one.
const maxDurationMS = 24 * 3600 * 1000

// phaseBound is what one phase may hold.
type phaseBound struct {
	lo, hi  float64
	integer bool
	unit    string
}

var (
	durationBound = phaseBound{0, maxDurationMS, false, "a duration in milliseconds"}
	phaseBounds   = map[string]phaseBound{
		"loss":     {0, 1, false, "a fraction"},
		"sent":     {0, 1000, true, "a count of echo requests (icmp.count is at most 1000)"},
		"received": {0, 1000, true, "a count of echo replies (icmp.count is at most 1000)"},
		"rcode":    {0, 4095, true, "a DNS rcode"},
		"answers":  {0, 65535, true, "a count of DNS answers"},
		// A leaf certificate valid until the year 9999 has about 2.9
		// million days left.
		"cert_expiry_days": {0, 3e6, false, "a number of days"},
	}
)

// check applies the rules of one result: seq, time, names and the
// physical bounds of every number. Every reason names the value, clipped.
func check(r *wire.Result, rules batchRules) (field, reason string) {
	switch {
	case r.Seq == 0:
		return "seq", "missing or 0; seqs start at 1"
	case r.Seq > wire.MaxSeq:
		return "seq", fmt.Sprintf("%d is above the highest seq the collector takes, %d", r.Seq, uint64(wire.MaxSeq))
	case r.Time.IsZero():
		return "time", "missing"
	case r.Time.Before(rules.oldest):
		return "time", fmt.Sprintf("%s is more than clock.max_age before the collector's clock (before %s): is the probe's clock set?",
			r.Time.Format(time.RFC3339), rules.oldest.Format(time.RFC3339))
	case r.Time.After(rules.newest):
		return "time", fmt.Sprintf("%s is more than clock.max_ahead after the collector's clock (after %s): is the probe's clock ahead?",
			r.Time.Format(time.RFC3339), rules.newest.Format(time.RFC3339))
	}
	if field, reason := checkName("check", r.Check, true, true); field != "" {
		return field, reason
	}
	if !kinds[r.Kind] {
		return "kind", fmt.Sprintf("%s is not one of http, tcp, icmp, dns", clip(r.Kind))
	}
	for _, n := range []struct {
		field, value       string
		required, tagValue bool
	}{
		{"target", r.Target, true, false},
		{"service", r.Service, false, true},
		{"error_class", string(r.ErrorClass), false, false},
	} {
		if field, reason := checkName(n.field, n.value, n.required, n.tagValue); field != "" {
			return field, reason
		}
	}
	if limit := fieldLimits["error"]; len(r.Error) > limit {
		return "error", fmt.Sprintf("%s is %d bytes, more than %d", clip(r.Error), len(r.Error), limit)
	}
	if reason := durationBound.check(r.DurationMS); reason != "" {
		return "duration_ms", reason
	}
	if r.StatusCode != 0 && (r.StatusCode < 100 || r.StatusCode > 599) {
		return "status_code", fmt.Sprintf("%d is not an HTTP status (100..599, or 0 for none)", r.StatusCode)
	}
	if field, reason := checkPhases(r.Phases); field != "" {
		return field, reason
	}
	if l := r.Location; l != nil && !(l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180) {
		return "location", fmt.Sprintf("(%g, %g) is not a lat/lon in range", l.Lat, l.Lon)
	}
	return "", ""
}

// checkName bounds a name by fieldLimits and refuses control characters:
// a name is one printable line. A tag value (it becomes an InfluxDB tag)
// must not end in a backslash either, which line protocol cannot carry:
// both stores refuse alike what one of them cannot hold.
func checkName(field, v string, required, tagValue bool) (string, string) {
	limit := fieldLimits[field]
	switch {
	case v == "" && required:
		return field, fmt.Sprintf("missing; 1 to %d bytes", limit)
	case len(v) > limit:
		return field, fmt.Sprintf("%s is %d bytes, more than %d", clip(v), len(v), limit)
	case tagValue && strings.HasSuffix(v, `\`):
		return field, fmt.Sprintf("%s ends in a backslash, which InfluxDB line protocol cannot carry in a tag", clip(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f {
			return field, fmt.Sprintf("%s holds control character %#02x at byte %d: a name is one printable line", clip(v), c, i)
		}
	}
	return "", ""
}

// checkPhases bounds the phases: at most 16, each named by 1 to 32 of
// a-z, 0-9 and _ (they become InfluxDB field keys), each value within its
// bound; a run never has more replies than requests.
func checkPhases(phases map[string]float64) (string, string) {
	if len(phases) > 16 {
		return "phases", fmt.Sprintf("%d phases, at most 16", len(phases))
	}
	names := make([]string, 0, len(phases))
	for name := range phases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !phaseName(name) {
			return "phases", fmt.Sprintf("phase name %s must be 1 to 32 of a-z, 0-9 and _", clip(name))
		}
		b, ok := phaseBounds[name]
		if !ok {
			b = durationBound
		}
		if reason := b.check(phases[name]); reason != "" {
			return "phases." + name, reason
		}
	}
	if sent, ok := phases["sent"]; ok && phases["received"] > sent {
		return "phases.received", fmt.Sprintf("%g replies to %g requests sent", phases["received"], sent)
	}
	return "", ""
}

func (b phaseBound) check(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprintf("%g is not a finite number", v)
	case v < b.lo || v > b.hi:
		return fmt.Sprintf("%g is outside %g..%g (%s)", v, b.lo, b.hi, b.unit)
	case b.integer && v != math.Trunc(v):
		return fmt.Sprintf("%g is not a whole number (%s)", v, b.unit)
	}
	return ""
}

func phaseName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeResults reads the results array: each element straight into a
// wire.Result, no intermediate copy. A type error, a bad time or a value
// the guard cut stays with its element (the decoder has already passed
// it); a syntax error or a failed read spoils the batch.
func decodeResults(dec *json.Decoder, g *jsonGuard, b *decodedBatch, rules batchRules) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "results": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %s", clip(fmt.Sprint(tok)))
	}
	b.Results = make([]wire.Result, 0, min(rules.maxResults, 1024))
	for i := 0; dec.More(); i++ {
		if i >= rules.maxResults {
			n := i
			for ; dec.More(); n++ { // count the rest for the message
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
				g.takeCuts(dec.InputOffset())
			}
			return errTooLarge{fmt.Sprintf("batch has %d results, limits.max_results is %d", n, rules.maxResults)}
		}
		var r wire.Result
		err := dec.Decode(&r)
		if err != nil {
			if _, syntax := err.(*json.SyntaxError); syntax || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isReadError(err) {
				return err
			}
		}
		if cuts := g.takeCuts(dec.InputOffset()); len(cuts) > 0 {
			field, reason := cutRejection(cuts[0])
			b.Rejected = append(b.Rejected, wire.Rejection{Index: i, Seq: r.Seq, Field: field, Reason: reason})
			continue
		}
		if err != nil {
			rej := rejectionOf(err)
			rej.Index, rej.Seq = i, r.Seq
			b.Rejected = append(b.Rejected, rej)
			continue
		}
		if field, reason := check(&r, rules); field != "" {
			b.Rejected = append(b.Rejected, wire.Rejection{Index: i, Seq: r.Seq, Field: field, Reason: reason})
			continue
		}
		b.Results = append(b.Results, r)
	}
	_, err = dec.Token() // ']'
	return err
}

// cutRejection says what the guard cut.
func cutRejection(c cut) (field, reason string) {
	field = c.key
	if field == "" {
		field = "result"
	}
	switch {
	case c.isKey:
		return field, fmt.Sprintf("a key of %d bytes as sent, more than %d", c.n, c.limit)
	case c.number:
		return field, fmt.Sprintf("a number of %d bytes as sent, more than %d", c.n, c.limit)
	}
	return field, fmt.Sprintf("%d bytes as sent, more than %d (not read)", c.n, c.limit)
}

// rejectionOf names the field of a decoding error when it can.
func rejectionOf(err error) wire.Rejection {
	rej := wire.Rejection{Field: "result", Reason: clipText(err.Error())}
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te) && te.Field != "":
		rej.Field = te.Field
		rej.Reason = fmt.Sprintf("%s cannot hold %s", te.Type, clip(te.Value))
	case errors.As(err, &pe):
		rej.Field = "time"
		rej.Reason = fmt.Sprintf("%s is not an RFC 3339 time", clip(pe.Value))
	}
	return rej
}

// clip is s as an answer or a log line may echo it: quoted, and at most
// clipLen bytes of it, with its length when it is longer. A rejected
// field is someone else's bytes; a 31 MiB one once became a 32 MB log line.
func clip(s string) string {
	if len(s) <= clipLen {
		return strconv.Quote(s)
	}
	n := clipLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + fmt.Sprintf("…(%d bytes)", len(s))
}

// clipText bounds a message that may hold a value.
func clipText(s string) string {
	if len(s) <= 4*clipLen {
		return s
	}
	n := 4 * clipLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

const clipLen = 64
