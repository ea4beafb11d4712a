package importer

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// parquetTable reads a flat Parquet file (Ookla publishes its tiles so),
// row group by row group, each value as the text a CSV of the same data
// would hold, so that both formats go through the same checks.
type parquetTable struct {
	f      *parquet.File
	names  []string
	group  int
	rows   parquet.Rows
	buf    []parquet.Row
	n, at  int
	line   int
	values int // leaf columns
}

func openParquet(data []byte) (*parquetTable, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, &Errors{Total: 1, Rows: []RowError{{Line: 1, Field: "parquet", Message: fmt.Sprintf("not a readable Parquet file: %v", err)}}}
	}
	t := &parquetTable{f: f, line: 1, buf: make([]parquet.Row, 256)}
	for _, fl := range f.Schema().Fields() {
		if !fl.Leaf() || fl.Repeated() {
			return nil, &Errors{Total: 1, Rows: []RowError{{Line: 1, Field: fl.Name(), Message: "the column is nested or repeated; expected a flat table of one value per column"}}}
		}
		t.names = append(t.names, fl.Name())
	}
	t.values = len(t.names)
	return t, nil
}

func (t *parquetTable) header() ([]string, error) { return t.names, nil }

func (t *parquetTable) next() (int, []string, error) {
	for t.at >= t.n {
		if err := t.fill(); err != nil {
			return 0, nil, err
		}
	}
	row := t.buf[t.at]
	t.at++
	t.line++
	rec := make([]string, t.values)
	for _, v := range row {
		if c := v.Column(); c >= 0 && c < len(rec) {
			rec[c] = valueText(v)
		}
	}
	return t.line, rec, nil
}

// fill reads the next rows, opening the next row group when one ends.
func (t *parquetTable) fill() error {
	t.at, t.n = 0, 0
	if t.rows == nil {
		groups := t.f.RowGroups()
		if t.group >= len(groups) {
			return io.EOF
		}
		t.rows = groups[t.group].Rows()
		t.group++
	}
	n, err := t.rows.ReadRows(t.buf)
	t.n = n
	if err == io.EOF {
		t.rows.Close()
		t.rows = nil
		return nil
	}
	if err != nil {
		return errStop{RowError{Line: t.line + 1, Field: "parquet", Message: fmt.Sprintf("reading row group %d: %v; the rest of the file was not read", t.group, err)}}
	}
	return nil
}

// valueText is a Parquet value as CSV text: integers in decimal, floats
// in the shortest form that reads back the same, NULL as empty.
func valueText(v parquet.Value) string {
	if v.IsNull() {
		return ""
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}
