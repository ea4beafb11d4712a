package embedded

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// A stored result is encoded compactly rather than as JSON: smaller on
// disk and far cheaper to write (docs/benchmarks.md). Layout (varints are encoding/binary's):
//
//	0x01 (version)
//	uvarint seq | varint unix nanos | varint zone offset in seconds
//	string check | string kind | string target | string service
//	byte flags (1: ok, 2: location)
//	float64 duration_ms (IEEE bits, big-endian)
//	uvarint n | n × (string name, float64 value), names sorted
//	varint status_code | string error_class | string error
//	[float64 lat, float64 lon] when flags has 2
//
// A string is a uvarint length and the bytes. Values written by earlier
// versions are JSON (they start with '{'); decodeResult reads both.
const codecV1 = 0x01

const (
	flagOK       = 1
	flagLocation = 2
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// appendResult appends r's encoding to b. Phase names are sorted so that
// the same result always encodes to the same bytes.
func appendResult(b []byte, r *wire.Result) []byte {
	b = append(b, codecV1)
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendVarint(b, r.Time.UnixNano())
	_, off := r.Time.Zone()
	b = binary.AppendVarint(b, int64(off))
	for _, s := range []string{r.Check, r.Kind, r.Target, r.Service} {
		b = appendString(b, s)
	}
	var flags byte
	if r.OK {
		flags |= flagOK
	}
	if r.Location != nil {
		flags |= flagLocation
	}
	b = append(b, flags)
	b = appendFloat(b, r.DurationMS)
	b = binary.AppendUvarint(b, uint64(len(r.Phases)))
	if len(r.Phases) > 0 {
		var names [16]string
		keys := names[:0]
		for k := range r.Phases {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendString(b, k)
			b = appendFloat(b, r.Phases[k])
		}
	}
	b = binary.AppendVarint(b, int64(r.StatusCode))
	b = appendString(b, string(r.ErrorClass))
	b = appendString(b, r.Error)
	if r.Location != nil {
		b = appendFloat(b, r.Location.Lat)
		b = appendFloat(b, r.Location.Lon)
	}
	return b
}

var errCorrupt = errors.New("corrupt result value")

// reader decodes the fields of one value; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

// decodeResult decodes a stored value into out, either encoding.
func decodeResult(v []byte, out *wire.Result) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, out)
	}
	if len(v) == 0 || v[0] != codecV1 {
		return fmt.Errorf("%w: unknown version", errCorrupt)
	}
	rd := &reader{b: v[1:]}
	out.Seq = rd.uvarint()
	ns, off := rd.varint(), rd.varint()
	out.Time = time.Unix(0, ns).UTC()
	if off != 0 {
		out.Time = out.Time.In(time.FixedZone("", int(off)))
	}
	out.Check, out.Kind, out.Target, out.Service = rd.string(), rd.string(), rd.string(), rd.string()
	flags := rd.byte()
	out.OK = flags&flagOK != 0
	out.DurationMS = rd.float()
	if n := rd.uvarint(); n > 0 && n <= uint64(len(rd.b)) {
		out.Phases = make(map[string]float64, n)
		for range n {
			k := rd.string()
			out.Phases[k] = rd.float()
		}
	} else if n > 0 {
		rd.fail()
	}
	out.StatusCode = int(rd.varint())
	out.ErrorClass, out.Error = wire.ErrorClass(rd.string()), rd.string()
	if flags&flagLocation != 0 {
		out.Location = &wire.Location{Lat: rd.float(), Lon: rd.float()}
	}
	if rd.err == nil && len(rd.b) != 0 {
		rd.fail()
	}
	return rd.err
}
