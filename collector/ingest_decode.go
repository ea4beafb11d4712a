package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

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
	Results  []wire.Result
	Rejected []wire.Rejection
}

// errBadBatch is a body that is not a batch at all (400).
type errBadBatch struct{ err error }

func (e errBadBatch) Error() string { return "batch: " + e.err.Error() }
func (e errBadBatch) Unwrap() error { return e.err }

// decodeBatch decodes a (decompressed) batch in one pass, result by result,
// so that a malformed result is rejected without dropping its good
// neighbours. It returns errBadBatch for a body that is not JSON or not a
// batch, and errTooLarge for more than rules.maxResults results. It does no
// I/O: the fuzz target calls it directly.
func decodeBatch(data []byte, rules batchRules) (*decodedBatch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	b := &decodedBatch{}
	seenResults := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errBadBatch{err}
		}
		key, _ := tok.(string)
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
		case "results":
			if seenResults {
				return nil, errBadBatch{errors.New(`"results" given twice`)}
			}
			seenResults = true
			err = decodeResults(dec, b, rules)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			var tl errTooLarge
			if errors.As(err, &tl) {
				return nil, err
			}
			return nil, errBadBatch{fmt.Errorf("%s: %w", key, err)}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errBadBatch{errors.New("data after the batch object")}
	}
	return b, nil
}

// checkVersion bounds a probe's version: it is shown on /api/v1/probes.
func checkVersion(v string) error {
	if len(v) > wire.MaxVersionLen {
		return fmt.Errorf("%d bytes, more than %d", len(v), wire.MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return fmt.Errorf("%q has a byte that is not printable ASCII at %d", v, i)
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return errBadBatch{err}
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return errBadBatch{fmt.Errorf("want %q, got %v", want, tok)}
	}
	return nil
}

// decodeResults reads the results array: each element straight into a
// wire.Result, no intermediate copy. A type error or a bad time stays
// with its element (the decoder has already passed it); a syntax error
// spoils the batch.
func decodeResults(dec *json.Decoder, b *decodedBatch, rules batchRules) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "results": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", tok)
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
			}
			return errTooLarge{fmt.Sprintf("batch has %d results, limits.max_results is %d", n, rules.maxResults)}
		}
		var r wire.Result
		if err := dec.Decode(&r); err != nil {
			if _, syntax := err.(*json.SyntaxError); syntax || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return err
			}
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

// rejectionOf names the field of a decoding error when it can.
func rejectionOf(err error) wire.Rejection {
	rej := wire.Rejection{Field: "result", Reason: err.Error()}
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te) && te.Field != "":
		rej.Field = te.Field
		rej.Reason = fmt.Sprintf("%s cannot hold %s", te.Type, te.Value)
	case errors.As(err, &pe):
		rej.Field = "time"
	}
	return rej
}

func check(r *wire.Result, rules batchRules) (field, reason string) {
	tooLong := func(s string, n int) bool { return len(s) > n }
	switch {
	case r.Seq == 0:
		return "seq", "missing or 0; seqs start at 1"
	case r.Time.IsZero():
		return "time", "missing"
	case r.Time.Before(rules.oldest):
		return "time", fmt.Sprintf("%s is more than clock.max_age before the collector's clock (before %s): is the probe's clock set?",
			r.Time.Format(time.RFC3339), rules.oldest.Format(time.RFC3339))
	case r.Time.After(rules.newest):
		return "time", fmt.Sprintf("%s is more than clock.max_ahead after the collector's clock (after %s): is the probe's clock ahead?",
			r.Time.Format(time.RFC3339), rules.newest.Format(time.RFC3339))
	case r.Check == "" || tooLong(r.Check, 128):
		return "check", fmt.Sprintf("%q must be 1 to 128 bytes", r.Check)
	case !kinds[r.Kind]:
		return "kind", fmt.Sprintf("%q is not one of http, tcp, icmp, dns", r.Kind)
	case r.Target == "" || tooLong(r.Target, 2048):
		return "target", "must be 1 to 2048 bytes"
	case tooLong(r.Service, 128):
		return "service", "longer than 128 bytes"
	case r.DurationMS < 0 || math.IsInf(r.DurationMS, 0) || r.DurationMS > 24*3600*1000:
		return "duration_ms", fmt.Sprintf("%g is not a duration in milliseconds", r.DurationMS)
	case r.StatusCode < 0 || r.StatusCode > 999:
		return "status_code", fmt.Sprintf("%d is not a status code", r.StatusCode)
	case tooLong(string(r.ErrorClass), 32):
		return "error_class", "longer than 32 bytes"
	case tooLong(r.Error, 4096):
		return "error", "longer than 4096 bytes"
	case len(r.Phases) > 16:
		return "phases", fmt.Sprintf("%d phases, at most 16", len(r.Phases))
	}
	for name, v := range r.Phases {
		if name == "" || len(name) > 32 || v < 0 || math.IsInf(v, 0) {
			return "phases." + name, fmt.Sprintf("%g is not a duration in milliseconds", v)
		}
	}
	if l := r.Location; l != nil && (l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180) {
		return "location", fmt.Sprintf("(%g, %g) is not a lat/lon in range", l.Lat, l.Lon)
	}
	return "", ""
}
