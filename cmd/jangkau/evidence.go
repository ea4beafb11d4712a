//go:build !probeonly

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jangkau/jangkau/collector"
)

// evidenceUsage is `jangkau evidence`'s own help.
const evidenceUsage = `usage:
  jangkau evidence import --collector URL --key-file FILE --id ID --kind ookla|podes|speedtest
                          --source S --licence L --date YYYY-MM-DD [--title T] [--method M]
                          [--network fixed|mobile] [--carrier C] FILE
  jangkau evidence layers --collector URL --key-file FILE
`

// runEvidence is `jangkau evidence import|layers`: a client of the
// collector's evidence API (docs/evidence.md).
func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, evidenceUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("jangkau evidence "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("collector", "", "the collector's `URL`, e.g. https://jangkau.example.go.id")
	keyFile := fs.String("key-file", "", "`file` holding a viewer key (jangkau token --viewer --out FILE); importing needs import: true on it")
	switch sub {
	case "import":
		q := url.Values{}
		id := fs.String("id", "", "the layer's `id`: 1-64 of a-z 0-9 . _ -, e.g. podes-2024; a second import under it is its next version")
		for _, p := range []struct{ name, usage string }{
			{"kind", "ookla, podes or speedtest"},
			{"title", "a title for people (default: the id)"},
			{"source", "who published or collected it, e.g. \"BPS (Podes 2024)\""},
			{"licence", "its licence, e.g. \"CC BY-NC-SA 4.0\""},
			{"date", "the day the data describes, YYYY-MM-DD"},
			{"method", "how it was collected"},
			{"network", "fixed or mobile (Ookla layers)"},
			{"carrier", "the carrier it is about, if one"},
		} {
			fs.Func(p.name, p.usage, func(v string) error { q.Set(p.name, v); return nil })
		}
		if fs.Parse(args) != nil {
			return errUsage
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("give one FILE after the flags (got %d arguments)\n%s", fs.NArg(), evidenceUsage)
		}
		c, err := newEvidenceClient(*base, *keyFile)
		if err != nil {
			return err
		}
		if *id == "" || q.Get("kind") == "" {
			return errors.New("--id and --kind are required")
		}
		return c.importFile(ctx, *id, q, fs.Arg(0), stdout)
	case "layers":
		if fs.Parse(args) != nil {
			return errUsage
		}
		c, err := newEvidenceClient(*base, *keyFile)
		if err != nil {
			return err
		}
		return c.layers(ctx, stdout)
	}
	fmt.Fprint(stderr, evidenceUsage)
	return fmt.Errorf("unknown subcommand %q: import or layers", sub)
}

type evidenceClient struct {
	base string
	key  string
	http *http.Client
}

func newEvidenceClient(base, keyFile string) (*evidenceClient, error) {
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--collector %q: expected the collector's http or https URL", base)
	}
	if keyFile == "" {
		return nil, errors.New("--key-file is required: a file holding a viewer key")
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" || strings.ContainsAny(key, "\n\r ") {
		return nil, fmt.Errorf("--key-file %s: expected the key alone on one line", keyFile)
	}
	return &evidenceClient{base: strings.TrimSuffix(base, "/"), key: key, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// do sends a request and decodes a 2xx answer into v; any other status
// is an error with the collector's message.
func (c *evidenceClient) do(req *http.Request, v any) (int, []byte, error) {
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, body, fmt.Errorf("the collector's answer is not the evidence API's JSON: %w", err)
		}
	}
	return resp.StatusCode, body, nil
}

func (c *evidenceClient) importFile(ctx context.Context, id string, q url.Values, path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/evidence/layers/"+url.PathEscape(id)+"?"+q.Encode(), f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "text/csv")
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		req.Header.Set("Content-Type", "application/vnd.apache.parquet")
	}
	var ans collector.ImportAnswer
	status, body, err := c.do(req, &ans)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return importRefused(status, body)
	}
	l := ans.Layer
	fmt.Fprintf(stdout, "stored layer %s version %d: %d rows (%s, %s), %d outside the collector's regions\n",
		l.ID, l.Version, ans.Rows, l.Kind, ans.Format, ans.Outside)
	return nil
}

// importRefused is the collector's refusal, its row errors one a line.
func importRefused(status int, body []byte) error {
	var r collector.ImportRefusal
	if json.Unmarshal(body, &r) != nil || r.Error == "" {
		return fmt.Errorf("the collector answered %d: %.300s", status, body)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the collector answered %d: %s", status, r.Error)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\n  line %d, %s %q: %s", e.Line, e.Field, e.Value, e.Message)
	}
	if n := r.Total - len(r.Errors); n > 0 {
		fmt.Fprintf(&b, "\n  and %d more", n)
	}
	return errors.New(b.String())
}

func (c *evidenceClient) layers(ctx context.Context, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/evidence/layers", nil)
	if err != nil {
		return err
	}
	var ans collector.LayersAnswer
	status, body, err := c.do(req, &ans)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return importRefused(status, body)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tVERSION\tROWS\tDATE\tSOURCE\tIMPORTED\tBY")
	for _, l := range ans.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", l.ID, l.Kind, l.Version, l.Rows,
			l.Date.Format(time.DateOnly), l.Source, l.Imported.Format(time.RFC3339), l.Submitter)
	}
	return tw.Flush()
}
