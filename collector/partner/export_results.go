package partner

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/store"
)

// Limits of one page of raw results.
const (
	resultsDefaultLimit = 100_000
	resultsMaxLimit     = 10_000_000
	// resultsFlushRows: the stream is flushed to the partner this often,
	// so that memory stays constant and a slow reader sees progress.
	resultsFlushRows = 4096
)

// ResultColumns are the CSV header of raw results.
var ResultColumns = []string{"time", "probe", "seq", "region", "tile", "carrier", "check", "kind", "target",
	"service", "ok", "duration_ms", "status_code", "error_class", "error", "lat", "lon", "phases"}

// cursor is the position after the last row of a page: results are
// scanned in (time, probe, seq) order, so the next page starts after it.
type cursor struct {
	time  time.Time
	probe string
	seq   uint64
}

// String encodes the cursor as an opaque URL-safe token.
func (c cursor) String() string {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, uint64(c.time.UnixNano()))
	b = binary.AppendUvarint(b, c.seq)
	b = append(b, c.probe...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != 1 {
		return cursor{}, fmt.Errorf("cursor %q is not a token from a next link", s)
	}
	c := cursor{time: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))).UTC()}
	var n int
	if c.seq, n = binary.Uvarint(b[9:]); n <= 0 {
		return cursor{}, fmt.Errorf("cursor %q is not a token from a next link", s)
	}
	c.probe = string(b[9+n:])
	return c, nil
}

// after says whether a row comes after the cursor.
func (c cursor) after(t time.Time, probe string, seq uint64) bool {
	switch {
	case !t.Equal(c.time):
		return t.After(c.time)
	case probe != c.probe:
		return probe > c.probe
	default:
		return seq > c.seq
	}
}

// resultsQuery is a page request of raw results.
type resultsQuery struct {
	exportQuery
	limit  int
	cursor *cursor
	ndjson bool
}

func (s *API) parseResults(r *http.Request, sc *scope) (resultsQuery, error) {
	v := r.URL.Query()
	format := v.Get("format")
	if format == "ndjson" {
		// parseView knows geojson and csv; raw results are NDJSON instead.
		v.Del("format")
		r = r.Clone(r.Context())
		r.URL.RawQuery = v.Encode()
	}
	q := resultsQuery{ndjson: format != "csv"}
	if format == "geojson" || format == "json" {
		return q, httpapi.Invalid("format", format, "format %q: ndjson or csv", format)
	}
	if v.Get("window") == "" && v.Get("from") == "" {
		v.Set("window", "1h")
		r = r.Clone(r.Context())
		r.URL.RawQuery = v.Encode()
	}
	eq, err := s.parseExport(r, sc, s.r.Regions().Deepest())
	if err != nil {
		return q, err
	}
	q.exportQuery = eq
	if q.limit, err = pageLimit(v.Get("limit"), resultsDefaultLimit, resultsMaxLimit); err != nil {
		return q, err
	}
	if c := v.Get("cursor"); c != "" {
		cur, err := parseCursor(c)
		if err != nil {
			return q, &httpapi.QueryError{Field: "cursor", Value: c, Reason: err.Error()}
		}
		q.cursor = &cur
	}
	return q, nil
}

// errPageFull stops a scan at the first row past the page.
var errPageFull = errors.New("export: page full")

// exportResults serves GET /api/v1/export/results: raw results of a time
// range, streamed from store.Scan with constant memory, NDJSON (default)
// or CSV. A page holds at most limit rows; when more follow, the body says
// so where every reader sees it: a last line {"next": URL} in NDJSON, a
// last comment line "# next: URL" in CSV. A Link trailer (rel="next")
// says it too, for the clients that read trailers.
func (s *API) exportResults(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	if !sc.raw {
		httpapi.Error(w, http.StatusForbidden, fmt.Sprintf("partner %s may not read raw results (raw: false)", sc.name))
		return
	}
	q, err := s.parseResults(r, sc)
	if err != nil {
		httpapi.Fail(w, "export results", err, s.r.StoreFailed)
		return
	}
	from := q.From
	if q.cursor != nil && q.cursor.time.After(from) {
		from = q.cursor.time
	}
	w.Header().Set("Trailer", "Link")
	if q.ndjson {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	rw := newResultWriter(bw, q.ndjson)
	flusher, _ := w.(http.Flusher)
	var last cursor
	n, more := 0, false
	err = s.r.ScanResults(r.Context(), from, q.To, func(rec store.Record) error {
		if q.cursor != nil && !q.cursor.after(rec.Time, rec.Probe, rec.Seq) {
			return nil
		}
		row, ok := s.resultRow(q.exportQuery, rec)
		if !ok {
			return nil
		}
		if n == q.limit {
			more = true
			return errPageFull
		}
		if err := rw.write(row); err != nil {
			return err
		}
		n++
		last = cursor{time: rec.Time, probe: rec.Probe, seq: rec.Seq}
		if n%resultsFlushRows == 0 {
			if err := rw.flush(); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		return nil
	})
	a.rows = n
	if err != nil && !errors.Is(err, errPageFull) {
		s.log.Warn("export results stopped", "partner", sc.name, "rows", n, "err", err)
		if q.ndjson {
			rw.flush()
			json.NewEncoder(bw).Encode(map[string]string{"error": "the export stopped early: " + err.Error()})
			bw.Flush()
			return
		}
		// A CSV has no place for an error: break the stream, so that the
		// client sees a truncated response rather than a short file.
		panic(http.ErrAbortHandler)
	}
	rw.flush()
	if more {
		v := r.URL.Query()
		v.Set("cursor", last.String())
		next := absoluteURL(r, r.URL.Path, v)
		if q.ndjson {
			json.NewEncoder(bw).Encode(map[string]string{"next": next})
		} else {
			bw.WriteString(csvNextPrefix + next + "\n")
		}
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	bw.Flush()
}

// resultRow places a result and says whether it is inside the query.
func (s *API) resultRow(q exportQuery, rec store.Record) (resultRecord, bool) {
	c := s.r.PlaceResult(&rec)
	if !q.cellOK(c) || (q.Carrier != "" && c.Carrier != q.Carrier) || (q.Service != "" && c.Service != q.Service) {
		return resultRecord{}, false
	}
	return resultRecord{Record: rec, Region: c.Region, Tile: c.Tile, Carrier: c.Carrier}, true
}

// resultRecord is a raw result with where it was measured.
type resultRecord struct {
	store.Record
	Region, Tile, Carrier string
}

// csvNextPrefix starts the CSV's last line when more rows follow. A line
// that starts with # is a comment to pandas (read_csv(comment='#')) and Go's
// csv.Reader (Comment: '#'); a spreadsheet shows it as a last row that says
// where the rest is.
const csvNextPrefix = "# next: "

// resultWriter writes rows as NDJSON or CSV.
type resultWriter struct {
	ndjson bool
	enc    *json.Encoder
	cw     *commentSafeCSV
	row    []string
}

func newResultWriter(w *bufio.Writer, ndjson bool) *resultWriter {
	rw := &resultWriter{ndjson: ndjson}
	if ndjson {
		rw.enc = json.NewEncoder(w)
		rw.enc.SetEscapeHTML(false)
		return rw
	}
	rw.cw = &commentSafeCSV{w: w}
	rw.cw.Write(ResultColumns)
	rw.row = make([]string, len(ResultColumns))
	return rw
}

// commentSafeCSV writes RFC 4180 rows as encoding/csv does, and also
// quotes a field that holds '#': pandas, told that '#' starts a comment,
// ends an unquoted field at it, and a target URL or an error message may
// hold one. encoding/csv cannot be told to quote more.
type commentSafeCSV struct {
	w   *bufio.Writer
	err error
}

// Write writes one row; the first error sticks.
func (c *commentSafeCSV) Write(row []string) error {
	for i, f := range row {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if f == "" || !(strings.ContainsAny(f, ",\"\r\n#") || f[0] == ' ' || f[0] == '\t') {
			c.w.WriteString(f)
			continue
		}
		c.w.WriteByte('"')
		c.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\n")
	if c.err == nil {
		c.err = err
	}
	return c.err
}

// resultJSON is one NDJSON line.
type resultJSON struct {
	Time       string             `json:"time"`
	Probe      string             `json:"probe"`
	Seq        uint64             `json:"seq"`
	Region     string             `json:"region"`
	Tile       string             `json:"tile,omitempty"`
	Carrier    string             `json:"carrier"`
	Check      string             `json:"check"`
	Kind       string             `json:"kind"`
	Target     string             `json:"target"`
	Service    string             `json:"service,omitempty"`
	OK         bool               `json:"ok"`
	DurationMS float64            `json:"duration_ms"`
	StatusCode int                `json:"status_code,omitempty"`
	ErrorClass string             `json:"error_class,omitempty"`
	Error      string             `json:"error,omitempty"`
	Lat        *float64           `json:"lat,omitempty"`
	Lon        *float64           `json:"lon,omitempty"`
	Phases     map[string]float64 `json:"phases,omitempty"`
}

func (rw *resultWriter) write(r resultRecord) error {
	t := r.Time.UTC().Format(time.RFC3339Nano)
	if rw.ndjson {
		j := resultJSON{Time: t, Probe: r.Probe, Seq: r.Seq, Region: r.Region, Tile: r.Tile, Carrier: r.Carrier,
			Check: r.Check, Kind: r.Kind, Target: r.Target, Service: r.Service, OK: r.OK, DurationMS: r.DurationMS,
			StatusCode: r.StatusCode, ErrorClass: string(r.ErrorClass), Error: r.Error, Phases: r.Phases}
		if l := r.Location; l != nil {
			j.Lat, j.Lon = &l.Lat, &l.Lon
		}
		return rw.enc.Encode(j)
	}
	row := rw.row
	// Text columns through CSVText (a spreadsheet would run "=..." as a
	// formula), numbers as strconv writes them.
	txt := httpapi.CSVText
	row[0], row[1], row[2], row[3], row[4], row[5] = t, txt(r.Probe), strconv.FormatUint(r.Seq, 10), txt(r.Region), txt(r.Tile), txt(r.Carrier)
	row[6], row[7], row[8], row[9] = txt(r.Check), txt(r.Kind), txt(r.Target), txt(r.Service)
	row[10], row[11] = strconv.FormatBool(r.OK), strconv.FormatFloat(r.DurationMS, 'f', -1, 64)
	row[12], row[13], row[14] = "", txt(string(r.ErrorClass)), txt(r.Error)
	if r.StatusCode != 0 {
		row[12] = strconv.Itoa(r.StatusCode)
	}
	row[15], row[16] = "", ""
	if l := r.Location; l != nil {
		row[15], row[16] = strconv.FormatFloat(l.Lat, 'f', -1, 64), strconv.FormatFloat(l.Lon, 'f', -1, 64)
	}
	row[17] = ""
	if len(r.Phases) > 0 {
		b, err := json.Marshal(r.Phases)
		if err != nil {
			return err
		}
		row[17] = string(b)
	}
	return rw.cw.Write(row)
}

func (rw *resultWriter) flush() error {
	if rw.cw != nil {
		return rw.cw.err
	}
	return nil
}
