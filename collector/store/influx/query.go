package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// InfluxQL goes over plain HTTP: the v2 client has no InfluxQL API, and
// /query is served by 1.8, by 2.x (its v1-compatible endpoint, through a
// DBRP mapping) and by InfluxDB 3. Never Flux.

// series is one series of an InfluxQL answer (or a chunk of it).
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

type queryResponse struct {
	Results []struct {
		StatementID int      `json:"statement_id"`
		Series      []series `json:"series"`
		Error       string   `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

// QueryError is an error InfluxDB answered to a statement.
type QueryError struct {
	Query, Msg string
	Status     int
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("influxdb: %q: %s (HTTP %d)", e.Query, e.Msg, e.Status)
}

// query runs q (one or more statements separated by ';') against the
// store's database and calls fn for every series of the answer, in order,
// with the statement's index. Times come as unix nanoseconds. chunked
// streams the answer in chunks of chunkSize rows, so that a large window
// is never held whole.
func (s *Store) query(ctx context.Context, q string, chunked bool, fn func(stmt int, sr *series) error) error {
	params := url.Values{"q": {q}, "epoch": {"ns"}}
	if s.db != "" {
		params.Set("db", s.db)
	}
	if s.rp != "" {
		params.Set("rp", s.rp)
	}
	if chunked {
		params.Set("chunked", "true")
		params.Set("chunk_size", strconv.Itoa(chunkSize))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/query", strings.NewReader(params.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	accept := s.accept
	if accept == "" {
		accept = msgpackAccept
	}
	req.Header.Set("Accept", accept)
	if s.token != "" {
		req.Header.Set("Authorization", "Token "+s.token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb query: %w", err)
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == msgpackType {
		return readMsgpack(resp, q, fn)
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	for {
		var qr queryResponse
		if err := dec.Decode(&qr); err != nil {
			if errors.Is(err, io.EOF) && resp.StatusCode == http.StatusOK {
				return nil
			}
			if resp.StatusCode != http.StatusOK {
				return &QueryError{Query: q, Msg: resp.Status, Status: resp.StatusCode}
			}
			return fmt.Errorf("influxdb query %q: reading the answer: %w", q, err)
		}
		if qr.Error != "" {
			return &QueryError{Query: q, Msg: qr.Error, Status: resp.StatusCode}
		}
		for _, r := range qr.Results {
			if r.Error != "" {
				return &QueryError{Query: q, Msg: r.Error, Status: resp.StatusCode}
			}
			for i := range r.Series {
				if err := fn(r.StatementID, &r.Series[i]); err != nil {
					return err
				}
			}
		}
	}
}

// exec runs statements whose answer carries no rows (CREATE, DROP).
func (s *Store) exec(ctx context.Context, q string) error {
	return s.query(ctx, q, false, func(int, *series) error { return nil })
}

// columns maps column names to their index in a row.
type columns map[string]int

func columnsOf(sr *series) columns {
	c := make(columns, len(sr.Columns))
	for i, name := range sr.Columns {
		c[name] = i
	}
	return c
}

// row reads typed values from one row of a series, by column name; tags of
// a GROUP BY come from the series.
type row struct {
	c    columns
	v    []any
	tags map[string]string
}

func (r row) raw(name string) any {
	if i, ok := r.c[name]; ok && i < len(r.v) {
		return r.v[i]
	}
	return nil
}

func (r row) str(name string) string {
	if s, ok := r.raw(name).(string); ok {
		return s
	}
	return r.tags[name]
}

func (r row) int(name string) int64 {
	switch n := r.raw(name).(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return int64(f)
	}
	return 0
}

func (r row) float(name string) (float64, bool) {
	switch n := r.raw(name).(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func (r row) bool(name string) bool {
	b, _ := r.raw(name).(bool)
	return b
}

// quoteString is an InfluxQL string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
