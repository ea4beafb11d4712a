package influx

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tinylib/msgp/msgp"
)

// msgpackType is the MessagePack answer of /query, which InfluxDB 1.8
// gives on "Accept: application/x-msgpack": the same objects as the JSON
// answer (results, series, columns, values), with numbers in binary and
// strings without escapes. query asks for it and falls back to JSON
// when a server answers JSON.
const msgpackType = "application/x-msgpack"

// msgpackAccept is the Accept header of /query: MessagePack, else JSON.
const msgpackAccept = msgpackType + ", application/json;q=0.5"

// readMsgpack reads a MessagePack answer of q (one object, or one per
// chunk) and calls fn for every series, as query does for JSON.
func readMsgpack(resp *http.Response, q string, fn func(stmt int, sr *series) error) error {
	r := msgp.NewReader(resp.Body)
	var d msgpackDecoder
	for {
		if _, err := r.R.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				if resp.StatusCode != http.StatusOK {
					return &QueryError{Query: q, Msg: resp.Status, Status: resp.StatusCode}
				}
				return nil
			}
			return fmt.Errorf("influxdb query %q: reading the answer: %w", q, err)
		}
		msg, err := d.response(r, fn)
		if err != nil {
			if resp.StatusCode != http.StatusOK && msg == "" {
				return &QueryError{Query: q, Msg: resp.Status, Status: resp.StatusCode}
			}
			var ce callbackError
			if errors.As(err, &ce) {
				return ce.err
			}
			return fmt.Errorf("influxdb query %q: reading the answer: %w", q, err)
		}
		if msg != "" {
			return &QueryError{Query: q, Msg: msg, Status: resp.StatusCode}
		}
	}
}

// callbackError carries fn's error through the decoder unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// msgpackDecoder decodes the answer's objects; its buffers are reused
// from series to series.
type msgpackDecoder struct {
	sr     series
	values []any
}

// response reads one answer object ({"results": [...]} or {"error": ...})
// and returns the error message InfluxDB gave, if any.
func (d *msgpackDecoder) response(r *msgp.Reader, fn func(int, *series) error) (string, error) {
	n, err := r.ReadMapHeader()
	if err != nil {
		return "", err
	}
	for range n {
		key, err := r.ReadMapKeyPtr()
		if err != nil {
			return "", err
		}
		switch string(key) {
		case "error":
			return r.ReadString()
		case "results":
			results, err := r.ReadArrayHeader()
			if err != nil {
				return "", err
			}
			for range results {
				if msg, err := d.result(r, fn); err != nil || msg != "" {
					return msg, err
				}
			}
		default:
			if err := r.Skip(); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// result reads one statement's result. statement_id comes before series
// in InfluxDB's answer; a result without it is statement 0.
func (d *msgpackDecoder) result(r *msgp.Reader, fn func(int, *series) error) (string, error) {
	n, err := r.ReadMapHeader()
	if err != nil {
		return "", err
	}
	stmt := 0
	for range n {
		key, err := r.ReadMapKeyPtr()
		if err != nil {
			return "", err
		}
		switch string(key) {
		case "error":
			return r.ReadString()
		case "statement_id":
			id, err := r.ReadInt()
			if err != nil {
				return "", err
			}
			stmt = id
		case "series":
			count, err := r.ReadArrayHeader()
			if err != nil {
				return "", err
			}
			for range count {
				if err := d.series(r); err != nil {
					return "", err
				}
				if err := fn(stmt, &d.sr); err != nil {
					return "", callbackError{err}
				}
			}
		default:
			if err := r.Skip(); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// series reads one series into d.sr. Its rows share one backing array,
// valid until the next series: callers keep values, never rows.
func (d *msgpackDecoder) series(r *msgp.Reader) error {
	d.sr = series{}
	n, err := r.ReadMapHeader()
	if err != nil {
		return err
	}
	for range n {
		key, err := r.ReadMapKeyPtr()
		if err != nil {
			return err
		}
		switch string(key) {
		case "name":
			if d.sr.Name, err = r.ReadString(); err != nil {
				return err
			}
		case "tags":
			tags, err := r.ReadMapHeader()
			if err != nil {
				return err
			}
			d.sr.Tags = make(map[string]string, tags)
			for range tags {
				k, err := r.ReadString()
				if err != nil {
					return err
				}
				if d.sr.Tags[k], err = r.ReadString(); err != nil {
					return err
				}
			}
		case "columns":
			cols, err := r.ReadArrayHeader()
			if err != nil {
				return err
			}
			d.sr.Columns = make([]string, cols)
			for i := range d.sr.Columns {
				if d.sr.Columns[i], err = r.ReadString(); err != nil {
					return err
				}
			}
		case "values":
			if err := d.rows(r); err != nil {
				return err
			}
		default:
			if err := r.Skip(); err != nil {
				return err
			}
		}
	}
	return nil
}

// rows reads the values of a series: int64, float64, string, bool or nil,
// as row reads them.
func (d *msgpackDecoder) rows(r *msgp.Reader) error {
	n, err := r.ReadArrayHeader()
	if err != nil {
		return err
	}
	d.sr.Values = make([][]any, n)
	d.values = d.values[:0]
	bounds := make([]int, n+1)
	for i := range n {
		cols, err := r.ReadArrayHeader()
		if err != nil {
			return err
		}
		for range cols {
			v, err := value(r)
			if err != nil {
				return err
			}
			d.values = append(d.values, v)
		}
		bounds[i+1] = len(d.values)
	}
	for i := range d.sr.Values {
		d.sr.Values[i] = d.values[bounds[i]:bounds[i+1]:bounds[i+1]]
	}
	return nil
}

// value reads one value of a row.
func value(r *msgp.Reader) (any, error) {
	t, err := r.NextType()
	if err != nil {
		return nil, err
	}
	switch t {
	case msgp.StrType:
		return r.ReadString()
	case msgp.IntType:
		return r.ReadInt64()
	case msgp.UintType:
		u, err := r.ReadUint64()
		return int64(u), err
	case msgp.Float64Type:
		return r.ReadFloat64()
	case msgp.Float32Type:
		f, err := r.ReadFloat32()
		return float64(f), err
	case msgp.BoolType:
		return r.ReadBool()
	case msgp.NilType:
		return nil, r.ReadNil()
	}
	return r.ReadIntf()
}
