// Package importer reads evidence files into observations: Ookla's open
// performance tiles (CSV or Parquet), the village census's per-desa
// signal (BPS Podes, CSV) and crowd or field speed tests (CSV). Every row
// is checked; one bad row refuses the whole file, with the first errors
// named by line, field and value, so that a layer is never half imported.
// The schemas, units and signal rules are in docs/evidence.md.
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jangkau/jangkau/collector/evidence"
)

// Bounds of one import. A province's Ookla tiles are tens of thousands of
// rows and its census a few thousand desa, so the defaults leave room for
// a whole country's quarter while keeping one request's memory bounded.
const (
	// DefaultMaxRows is Options.MaxRows when it is zero.
	DefaultMaxRows = 1_000_000
	// MaxFieldBytes bounds every field: an Ookla tile's WKT, the longest
	// field of the schemas, is about 150 bytes.
	MaxFieldBytes = 1024
	// MaxErrors is how many row errors an import reports; the total is
	// counted past it.
	MaxErrors = 20
)

// Options bound an import.
type Options struct {
	// MaxRows is the most data rows a file may hold (DefaultMaxRows when 0).
	MaxRows int
}

// Result is what a file holds.
type Result struct {
	Observations []evidence.Observation
	// Format is "csv" or "parquet".
	Format string
}

// RowError is one bad row or header: where, which field, what it holds
// and what was expected.
type RowError struct {
	// Line is the CSV line (1 is the header); a Parquet file's rows are
	// numbered as the same data's CSV would be, the first row being 2.
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

func (e RowError) Error() string {
	return fmt.Sprintf("line %d: %s %q: %s", e.Line, e.Field, e.Value, e.Message)
}

// Errors is a refused file: the first MaxErrors row errors and how many
// there were in all. Nothing of the file is imported.
type Errors struct {
	Rows  []RowError `json:"errors"`
	Total int        `json:"total"`
}

func (e *Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad rows; nothing imported", e.Total)
	for i, r := range e.Rows {
		if i == 3 {
			fmt.Fprintf(&b, "; … (%d more)", e.Total-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.Error())
	}
	return b.String()
}

func (e *Errors) add(line int, field, value, format string, args ...any) {
	e.Total++
	if len(e.Rows) < MaxErrors {
		e.Rows = append(e.Rows, RowError{Line: line, Field: field, Value: clip(value), Message: fmt.Sprintf(format, args...)})
	}
}

// clip shortens a value quoted back in an error.
func clip(v string) string {
	const max = 80
	if len(v) <= max {
		return v
	}
	cut := max
	for cut > 0 && !utf8Start(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// ErrKind is returned for a kind that has no file importer.
var ErrKind = errors.New("importer: no file importer for this kind")

// parquetMagic starts (and ends) every Parquet file.
var parquetMagic = []byte("PAR1")

// IsParquet says whether data is a Parquet file, by its magic.
func IsParquet(data []byte) bool {
	return len(data) >= 8 && bytes.HasPrefix(data, parquetMagic) && bytes.HasSuffix(data, parquetMagic)
}

// Read reads a file of the given kind, CSV or Parquet (told apart by
// Parquet's magic), and returns its observations, or *Errors when any
// row is bad. Claims are not files: a carrier submits them as GeoJSON
// through the partner API.
func Read(kind evidence.Kind, data []byte, opt Options) (*Result, error) {
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	var parse rowParser
	switch kind {
	case evidence.KindOokla:
		parse = newOoklaParser()
	case evidence.KindPodes:
		parse = newPodesParser()
	case evidence.KindSpeedtest:
		parse = newSpeedtestParser()
	default:
		return nil, fmt.Errorf("%w: %q (ookla, podes or speedtest; claims go through the partner API's submit)", ErrKind, kind)
	}
	var t table
	res := &Result{Format: "csv"}
	if IsParquet(data) {
		pt, err := openParquet(data)
		if err != nil {
			return nil, err
		}
		t, res.Format = pt, "parquet"
	} else {
		t = newCSVTable(data)
	}
	obs, err := readTable(t, parse, opt)
	if err != nil {
		return nil, err
	}
	res.Observations = obs
	return res, nil
}

// table is a file's rows as text, whatever its format.
type table interface {
	// header returns the column names.
	header() ([]string, error)
	// next returns the next row and its line; io.EOF after the last.
	next() (line int, rec []string, err error)
}

// rowParser turns a table's rows into observations.
type rowParser interface {
	// columns binds the header, adding an error per missing column.
	columns(h *header, errs *Errors)
	// row reads one row, adding its errors; ok is false when it had any.
	row(line int, rec []string, errs *Errors) (evidence.Observation, bool)
}

// readTable reads every row, collecting errors; any error refuses all.
func readTable(t table, p rowParser, opt Options) ([]evidence.Observation, error) {
	names, err := t.header()
	if err != nil {
		return nil, err
	}
	errs := &Errors{}
	h := newHeader(names)
	for _, d := range h.duplicates {
		errs.add(1, d, d, "column named twice; expected each column once")
	}
	p.columns(h, errs)
	if errs.Total > 0 {
		return nil, errs
	}
	var obs []evidence.Observation
	rows := 0
	for {
		line, rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var stop errStop
			if errors.As(err, &stop) {
				errs.add(stop.Line, stop.Field, stop.Value, "%s", stop.Message)
				break
			}
			var re RowError
			if errors.As(err, &re) {
				errs.add(re.Line, re.Field, re.Value, "%s", re.Message)
				if errs.Total >= MaxErrors*5 {
					break // a file this broken is not worth reading on
				}
				continue
			}
			return nil, err
		}
		if rows++; rows > opt.MaxRows {
			return nil, &Errors{Total: 1, Rows: []RowError{{Line: line, Field: "rows", Value: fmt.Sprint(rows),
				Message: fmt.Sprintf("the file holds more than %d rows, the most one import takes; split it (e.g. per kabupaten)", opt.MaxRows)}}}
		}
		if bad := h.long(rec); bad >= 0 {
			errs.add(line, h.name(bad), rec[bad], "field is %d bytes; at most %d", len(rec[bad]), MaxFieldBytes)
			continue
		}
		o, ok := p.row(line, rec, errs)
		if ok {
			o.Line = line
			obs = append(obs, o)
		}
	}
	if errs.Total > 0 {
		return nil, errs
	}
	if rows == 0 {
		return nil, &Errors{Total: 1, Rows: []RowError{{Line: 2, Field: "rows", Message: "the file has a header and no rows; expected at least one row"}}}
	}
	return obs, nil
}

// header maps column names (case-insensitive, trimmed) to indexes.
type header struct {
	names      []string
	index      map[string]int
	duplicates []string
}

func newHeader(names []string) *header {
	h := &header{names: names, index: map[string]int{}}
	for i, n := range names {
		k := normName(n)
		if k == "" {
			continue
		}
		if _, dup := h.index[k]; dup {
			h.duplicates = append(h.duplicates, n)
			continue
		}
		h.index[k] = i
	}
	return h
}

func normName(n string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(n, "\uFEFF")))
}

// find returns the index of the first of names the header has, or -1.
func (h *header) find(names ...string) int {
	for _, n := range names {
		if i, ok := h.index[n]; ok {
			return i
		}
	}
	return -1
}

// require is find, adding an error naming the expected columns when none is there.
func (h *header) require(errs *Errors, names ...string) int {
	i := h.find(names...)
	if i < 0 {
		errs.add(1, names[0], strings.Join(h.names, ","), "column %s missing; expected a header naming it (one of %s)", names[0], strings.Join(names, ", "))
	}
	return i
}

func (h *header) name(i int) string {
	if i >= 0 && i < len(h.names) {
		return normName(h.names[i])
	}
	return fmt.Sprintf("column %d", i+1)
}

// long returns the index of the first field longer than MaxFieldBytes, or -1.
func (h *header) long(rec []string) int {
	for i, f := range rec {
		if len(f) > MaxFieldBytes {
			return i
		}
	}
	return -1
}

// field returns rec[i] trimmed, "" when the column is absent (i < 0) or
// the row is short.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}
