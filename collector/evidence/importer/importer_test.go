package importer

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureRows reads a fixture CSV with encoding/csv alone, as maps of
// column to value, with each row's line: what the tests check the
// importers against.
func fixtureRows(t *testing.T, name string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(fixture(t, name)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for i, rec := range recs[1:] {
		m := map[string]string{"line": strconv.Itoa(i + 2)} // no field spans lines in the fixtures
		for j, h := range recs[0] {
			m[strings.ToLower(h)] = rec[j]
		}
		out = append(out, m)
	}
	if len(out) < 10 {
		t.Fatalf("%s has %d rows; the fixtures have tens", name, len(out))
	}
	return out
}

func read(t *testing.T, kind evidence.Kind, name string) *Result {
	t.Helper()
	res, err := Read(kind, fixture(t, name), Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signalOf is docs/evidence.md's rule: 5 Mbit/s and more is strong, less
// is weak, nothing is none.
func signalOf(kbps float64) evidence.Signal {
	switch {
	case kbps >= 5000:
		return evidence.SignalStrong
	case kbps > 0:
		return evidence.SignalWeak
	}
	return evidence.SignalNone
}

func TestOoklaCSV(t *testing.T) {
	rows := fixtureRows(t, "ookla-mobile-2024q3.csv")
	res := read(t, evidence.KindOokla, "ookla-mobile-2024q3.csv")
	if res.Format != "csv" || len(res.Observations) != len(rows) {
		t.Fatalf("format %s, %d observations; want csv, %d (one per row)", res.Format, len(res.Observations), len(rows))
	}
	counts := map[evidence.Signal]int{}
	for i, row := range rows {
		o := res.Observations[i]
		down := atof(t, row["avg_d_kbps"])
		want := evidence.Observation{
			Line: int(atof(t, row["line"])), Quadkey: row["quadkey"], Signal: signalOf(down),
			DownKbps: down, UpKbps: atof(t, row["avg_u_kbps"]), LatencyMS: atof(t, row["avg_lat_ms"]),
			Tests: int(atof(t, row["tests"])), Devices: int(atof(t, row["devices"])),
		}
		if !reflect.DeepEqual(o, want) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, o, want)
		}
		counts[o.Signal]++
	}
	if counts[evidence.SignalStrong] == 0 || counts[evidence.SignalWeak] == 0 {
		t.Errorf("signals %v: the fixture should have strong and weak tiles", counts)
	}
}

func TestOoklaParquetSameAsCSV(t *testing.T) {
	c := read(t, evidence.KindOokla, "ookla-mobile-2024q3.csv")
	p := read(t, evidence.KindOokla, "ookla-mobile-2024q3.parquet")
	if p.Format != "parquet" {
		t.Fatalf("format %s; want parquet", p.Format)
	}
	if len(p.Observations) == 0 || !reflect.DeepEqual(c.Observations, p.Observations) {
		t.Fatalf("parquet gives %d observations, csv %d; they differ:\nparquet %+v\ncsv     %+v", len(p.Observations), len(c.Observations), p.Observations[:1], c.Observations[:1])
	}
}

// dotted is the test's own reading of a 10-digit desa code.
func dotted(code string) string {
	if strings.Contains(code, ".") {
		return code
	}
	return code[:2] + "." + code[2:4] + "." + code[4:6] + "." + code[6:]
}

func TestPodes(t *testing.T) {
	signals := map[string]evidence.Signal{
		"sinyal kuat": evidence.SignalStrong, "sinyal lemah": evidence.SignalWeak, "tidak ada sinyal": evidence.SignalNone,
		"strong": evidence.SignalStrong, "weak": evidence.SignalWeak, "none": evidence.SignalNone,
	}
	techs := map[string]evidence.Tech{"5G/4G/LTE": "4G", "4G/LTE": "4G", "3G/H/H+/EVDO": "3G", "2G/EDGE/GPRS": "2G",
		"tidak ada sinyal": "", "none": "", "3G": "3G", "2G": "2G"}
	for _, tc := range []struct{ file, code, signal, tech string }{
		{"podes-2024.csv", "kode_desa", "sinyal", "teknologi"},
		{"podes-2021-r1005.csv", "iddesa", "r1005c", "r1005d"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rows := fixtureRows(t, tc.file)
			res := read(t, evidence.KindPodes, tc.file)
			if len(res.Observations) != len(rows) {
				t.Fatalf("%d observations; want %d", len(res.Observations), len(rows))
			}
			for i, row := range rows {
				sig, ok := signals[row[tc.signal]]
				tech, ok2 := techs[row[tc.tech]]
				if !ok || !ok2 {
					t.Fatalf("the test does not know the labels %q, %q", row[tc.signal], row[tc.tech])
				}
				want := evidence.Observation{Line: int(atof(t, row["line"])), Region: dotted(row[tc.code]), Signal: sig, Tech: tech}
				if o := res.Observations[i]; !reflect.DeepEqual(o, want) {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, o, want)
				}
			}
		})
	}
}

func TestSpeedtests(t *testing.T) {
	rows := fixtureRows(t, "speedtests-field-2024.csv")
	res := read(t, evidence.KindSpeedtest, "speedtests-field-2024.csv")
	if len(res.Observations) != len(rows) {
		t.Fatalf("%d observations; want %d", len(res.Observations), len(rows))
	}
	none := 0
	for i, row := range rows {
		at, err := time.Parse(time.RFC3339, row["time"])
		if err != nil {
			t.Fatal(err)
		}
		down := atof(t, row["download_mbps"]) * 1000
		want := evidence.Observation{
			Line: int(atof(t, row["line"])), Lat: atof(t, row["lat"]), Lon: atof(t, row["lon"]), Time: at.UTC(),
			Signal: signalOf(down), Tech: evidence.Tech(row["tech"]), Carrier: row["carrier"],
			DownKbps: down, UpKbps: atof(t, row["upload_mbps"]) * 1000, LatencyMS: atof(t, row["latency_ms"]),
		}
		if o := res.Observations[i]; !reflect.DeepEqual(o, want) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, o, want)
		}
		if want.Signal == evidence.SignalNone {
			none++
		}
	}
	if none == 0 {
		t.Error("the fixture has no failed test (0 download): the none rule is not exercised")
	}
}

// TestSpeedtestUnits: kbit/s columns are taken as they are, a plain
// download column is Mbit/s.
func TestSpeedtestUnits(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		want          float64
	}{
		{"download_kbps", "1500", 1500},
		{"download_mbps", "1.5", 1500},
		{"download", "1.5", 1500},
	} {
		data := "time,lat,lon," + tc.header + "\n2024-08-12T08:00:00+07:00,-6.6,105.6," + tc.value + "\n"
		res, err := Read(evidence.KindSpeedtest, []byte(data), Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.header, err)
		}
		if got := res.Observations[0].DownKbps; got != tc.want {
			t.Errorf("%s %s: %v kbit/s; want %v", tc.header, tc.value, got, tc.want)
		}
	}
}

// badRow is an error the test expects: a line and a field.
type badRow struct {
	line  int
	field string
}

func TestBadRows(t *testing.T) {
	ookla := string(fixture(t, "ookla-mobile-2024q3.csv"))
	ooklaLines := strings.Count(ookla, "\n")
	speed := string(fixture(t, "speedtests-field-2024.csv"))
	speedLines := strings.Count(speed, "\n")
	podes := string(fixture(t, "podes-2024.csv"))
	podesLines := strings.Count(podes, "\n")
	for _, tc := range []struct {
		name string
		kind evidence.Kind
		data string
		want []badRow
	}{
		{"ookla: a zoom-15 quadkey on the last line", evidence.KindOokla,
			ookla + "310012112023233,,1,1,1,1,1,1,1,1,1\n", []badRow{{ooklaLines + 1, "quadkey"}}},
		{"ookla: a quadkey read as a number", evidence.KindOokla,
			ookla + "3100121120232339,,1,1,1,1,1,1,1,1,1\n", []badRow{{ooklaLines + 1, "quadkey"}}},
		{"ookla: a tile twice", evidence.KindOokla,
			ookla + strings.SplitN(ookla, "\n", 3)[1] + "\n", []badRow{{ooklaLines + 1, "quadkey"}}},
		{"ookla: text in avg_d_kbps, tests 0", evidence.KindOokla,
			ookla + "3100121120232300,,1,1,fast,1,1,1,1,0,1\n", []badRow{{ooklaLines + 1, "avg_d_kbps"}, {ooklaLines + 1, "tests"}}},
		{"ookla: more devices than tests", evidence.KindOokla,
			ookla + "3100121120232300,,1,1,100,1,1,1,1,2,3\n", []badRow{{ooklaLines + 1, "devices"}}},
		{"ookla: a short row", evidence.KindOokla,
			ookla + "3100121120232300,1\n", []badRow{{ooklaLines + 1, "columns"}}},
		{"ookla: no tests column", evidence.KindOokla,
			"quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,devices\n3100121120232300,1,1,1,1\n", []badRow{{1, "tests"}}},
		{"podes: a 9-digit code and an unknown label", evidence.KindPodes,
			podes + "360101200,X,sinyal sedang,4G\n", []badRow{{podesLines + 1, "kode_desa"}, {podesLines + 1, "sinyal"}}},
		{"podes: a numeric code for the signal", evidence.KindPodes,
			podes + "3601019999,X,1,4G\n", []badRow{{podesLines + 1, "sinyal"}}},
		{"podes: a desa twice, in both forms", evidence.KindPodes,
			podes + "36.01.01.2001,Sumberjaya,sinyal kuat,4G/LTE\n", []badRow{{podesLines + 1, "kode_desa"}}},
		{"podes: an unknown technology", evidence.KindPodes,
			podes + "3601019999,X,sinyal kuat,6G\n", []badRow{{podesLines + 1, "teknologi"}}},
		{"speedtest: a time without zone, lat 0,0", evidence.KindSpeedtest,
			speed + "2024-08-12 08:00,0,0,Telkomsel,1,1,1,4G\n", []badRow{{speedLines + 1, "time"}, {speedLines + 1, "lat"}}},
		{"speedtest: lat out of range, negative download", evidence.KindSpeedtest,
			speed + "2024-08-12T08:00:00+07:00,-96.1,105.6,Telkomsel,-3,1,1,4G\n", []badRow{{speedLines + 1, "lat"}, {speedLines + 1, "download_mbps"}}},
		{"speedtest: a bare quote stops the reading", evidence.KindSpeedtest,
			speed + "2024-08-12T08:00:00+07:00,-6.6,105.6,Tel\"komsel,1,1,1,4G\n2024-08-12T08:00:00+07:00,-6.6,105.6,Telkomsel,1,1,1,4G\n", []badRow{{speedLines + 1, "csv"}}},
		{"a header only", evidence.KindSpeedtest, "time,lat,lon,download\n", []badRow{{2, "rows"}}},
		{"an empty file", evidence.KindPodes, "", []badRow{{1, "header"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(tc.kind, []byte(tc.data), Options{})
			if res != nil {
				t.Errorf("a result with %d observations; want none (nothing half imported)", len(res.Observations))
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T); want *Errors", err, err)
			}
			var got []badRow
			for _, r := range errs.Rows {
				got = append(got, badRow{r.Line, r.Field})
				if r.Message == "" {
					t.Errorf("line %d %s: no message", r.Line, r.Field)
				}
			}
			if !reflect.DeepEqual(got, tc.want) || errs.Total != len(tc.want) {
				t.Errorf("errors %+v (total %d); want %+v\n%v", got, errs.Total, tc.want, err)
			}
		})
	}
}

// TestBadValueQuoted: the error gives the value back and says what was
// expected.
func TestBadValueQuoted(t *testing.T) {
	_, err := Read(evidence.KindOokla, []byte("quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n3100121120232300,12 Mbps,1,1,1,1\n"), Options{})
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Rows) != 1 {
		t.Fatalf("%v; want one row error", err)
	}
	r := errs.Rows[0]
	if r.Line != 2 || r.Field != "avg_d_kbps" || r.Value != "12 Mbps" || !strings.Contains(r.Message, "kbit/s") {
		t.Errorf("%+v; want line 2, avg_d_kbps, the value, and kbit/s in the message", r)
	}
}

func TestErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("kode_desa,sinyal\n")
	for i := range 30 {
		b.WriteString("36010120" + strconv.Itoa(10+i) + ",sedang\n")
	}
	_, err := Read(evidence.KindPodes, []byte(b.String()), Options{})
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("%v; want *Errors", err)
	}
	if len(errs.Rows) != MaxErrors || errs.Total != 30 {
		t.Errorf("%d errors listed, total %d; want %d listed, total 30", len(errs.Rows), errs.Total, MaxErrors)
	}
	if errs.Rows[MaxErrors-1].Line != MaxErrors+1 {
		t.Errorf("the last listed error is on line %d; want %d (the first errors, in order)", errs.Rows[MaxErrors-1].Line, MaxErrors+1)
	}
}

func TestBounds(t *testing.T) {
	data := fixture(t, "podes-2024.csv")
	rows := strings.Count(string(data), "\n") - 1
	if _, err := Read(evidence.KindPodes, data, Options{MaxRows: rows}); err != nil {
		t.Fatalf("%d rows with MaxRows %d: %v", rows, rows, err)
	}
	_, err := Read(evidence.KindPodes, data, Options{MaxRows: rows - 1})
	var errs *Errors
	if !errors.As(err, &errs) || errs.Rows[0].Field != "rows" {
		t.Fatalf("%d rows with MaxRows %d: %v; want a rows error", rows, rows-1, err)
	}
	long := "kode_desa,sinyal\n3601012001," + strings.Repeat("k", MaxFieldBytes+1) + "\n"
	_, err = Read(evidence.KindPodes, []byte(long), Options{})
	if !errors.As(err, &errs) || errs.Rows[0].Field != "sinyal" || !strings.Contains(errs.Rows[0].Message, "at most") || len(errs.Rows[0].Value) > 100 {
		t.Fatalf("a %d-byte field: %v; want a sinyal error saying the bound, the value clipped", MaxFieldBytes+1, err)
	}
}

func TestClaimRefused(t *testing.T) {
	_, err := Read(evidence.KindClaim, []byte("{}"), Options{})
	if !errors.Is(err, ErrKind) || !strings.Contains(err.Error(), "partner") {
		t.Errorf("%v; want ErrKind pointing to the partner API", err)
	}
}

func TestDesaCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"3601012001", "36.01.01.2001"},
		{"36.01.01.2001", "36.01.01.2001"},
		{"36.01.012.001", ""},
		{"360101200", ""},
		{"36010120011", ""},
		{"36O1012001", ""},
		{"", ""},
	} {
		got, msg := DesaCode(tc.in)
		if got != tc.want || (tc.want == "") != (msg != "") {
			t.Errorf("DesaCode(%q) = %q, %q; want %q", tc.in, got, msg, tc.want)
		}
	}
}

func TestPodesTechCategories(t *testing.T) {
	for in, want := range map[string]evidence.Tech{
		"5G/4G/LTE": "4G", "5G": "5G", "4G": "4G", "LTE": "4G", "3G/H/H+/EVDO": "3G", "2.5G/E/GPRS": "2G", "2G/EDGE/GPRS": "2G", "": "", "Tidak Ada Sinyal": "",
	} {
		if got, ok := parseTech(in); !ok || got != want {
			t.Errorf("parseTech(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestErrorsNameTheFilesColumn: an error names the column as the file's
// header has it (R1005C), not the plain name.
func TestErrorsNameTheFilesColumn(t *testing.T) {
	_, err := Read(evidence.KindPodes, []byte("IDDESA,R1005C,R1005D\n36.01.01.2001,3,4G\n"), Options{})
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Rows) != 1 || errs.Rows[0].Field != "r1005c" || errs.Rows[0].Value != "3" {
		t.Fatalf("%v; want one error on r1005c, value 3", err)
	}
}
