package partner

import (
	"bufio"
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
)

// A field that holds '#' is quoted, so that a reader told that '#' starts
// a comment (pandas comment='#') never cuts a row at it; every row reads
// back as written.
func TestCommentSafeCSV(t *testing.T) {
	rows := [][]string{
		{"time", "target", "error"},
		{"2026-11-27T09:00:00Z", "http://portal.example/#/login", "plain"},
		{"#first", "a,b", `say "hi"`},
		{" lead", "multi\nline", ""},
	}
	var sb strings.Builder
	bw := bufio.NewWriter(&sb)
	c := &commentSafeCSV{w: bw}
	for _, r := range rows {
		if err := c.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	bw.WriteString(csvNextPrefix + "http://127.0.0.1/next\n")
	bw.Flush()
	r := csv.NewReader(strings.NewReader(sb.String()))
	r.Comment = '#'
	got, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, sb.String())
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("read back %q, wrote %q\n%s", got, rows, sb.String())
	}
	// Outside quotes, no '#' but the comment line's.
	inQuotes := false
	for i, ch := range sb.String() {
		switch {
		case ch == '"':
			inQuotes = !inQuotes
		case ch == '#' && !inQuotes && !strings.HasPrefix(sb.String()[i:], csvNextPrefix):
			t.Errorf("unquoted # at %d:\n%s", i, sb.String())
		}
	}
}
