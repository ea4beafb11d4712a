package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// csvTable reads a CSV file: a header line, then one row per record.
// The separator is a comma, or a semicolon when the header has
// semicolons and no comma (as spreadsheets in an Indonesian locale save
// CSV, the decimal separator being a comma).
type csvTable struct {
	r     *csv.Reader
	width int
}

func newCSVTable(data []byte) *csvTable {
	r := csv.NewReader(bytes.NewReader(data))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.IndexByte(first, ';') >= 0 && bytes.IndexByte(first, ',') < 0 {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	return &csvTable{r: r}
}

func (t *csvTable) header() ([]string, error) {
	h, err := t.r.Read()
	if err == io.EOF {
		return nil, &Errors{Total: 1, Rows: []RowError{{Line: 1, Field: "header", Message: "the file is empty; expected a CSV header line and rows"}}}
	}
	if err != nil {
		return nil, &Errors{Total: 1, Rows: []RowError{{Line: 1, Field: "header", Message: fmt.Sprintf("not CSV: %v", csvCause(err))}}}
	}
	t.width = len(h)
	return h, nil
}

// errStop marks a row error after which the file cannot be read on.
type errStop struct{ RowError }

func (t *csvTable) next() (int, []string, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return 0, nil, io.EOF
	}
	if err != nil {
		line := 0
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		return 0, nil, errStop{RowError{Line: line, Field: "csv", Message: fmt.Sprintf("%v; the rest of the file was not read", csvCause(err))}}
	}
	line, _ := t.r.FieldPos(0)
	if len(rec) != t.width {
		return line, nil, RowError{Line: line, Field: "columns", Value: fmt.Sprint(len(rec)),
			Message: fmt.Sprintf("the row has %d fields; expected %d, as the header", len(rec), t.width)}
	}
	return line, rec, nil
}

// csvCause is a CSV parse error without its line, which RowError gives.
func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
