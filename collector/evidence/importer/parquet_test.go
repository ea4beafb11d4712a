package importer

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/jangkau/jangkau/collector/evidence"
)

// ooklaParquetRow is Ookla's schema as published: nullable latency
// columns, the averages as 64-bit integers.
type ooklaParquetRow struct {
	Quadkey      string `parquet:"quadkey"`
	Tile         string `parquet:"tile"`
	AvgDKbps     int64  `parquet:"avg_d_kbps"`
	AvgUKbps     int64  `parquet:"avg_u_kbps"`
	AvgLatMS     int64  `parquet:"avg_lat_ms"`
	AvgLatDownMS *int32 `parquet:"avg_lat_down_ms,optional"`
	AvgLatUpMS   *int32 `parquet:"avg_lat_up_ms,optional"`
	Tests        int64  `parquet:"tests"`
	Devices      int64  `parquet:"devices"`
}

// TestParquetRowGroupsAndSnappy: a file as Ookla writes them, Snappy
// compressed, in several row groups, with null columns, reads as the
// same data's CSV.
func TestParquetRowGroupsAndSnappy(t *testing.T) {
	data := fixture(t, "ookla-mobile-2024q3.parquet")
	rows, err := parquet.Read[ooklaParquetRow](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if i%2 == 0 {
			rows[i].AvgLatDownMS, rows[i].AvgLatUpMS = nil, nil
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[ooklaParquetRow](&buf, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(7))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if groups := len(f.RowGroups()); groups < 5 {
		t.Fatalf("%d row groups; the test wants several", groups)
	}
	got, err := Read(evidence.KindOokla, buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := read(t, evidence.KindOokla, "ookla-mobile-2024q3.csv")
	if !reflect.DeepEqual(got.Observations, want.Observations) {
		t.Errorf("%d observations from %d row groups differ from the CSV's %d", len(got.Observations), len(f.RowGroups()), len(want.Observations))
	}
}

// TestParquetNested: a nested column is refused, naming it.
func TestParquetNested(t *testing.T) {
	type point struct {
		X float64 `parquet:"x"`
		Y float64 `parquet:"y"`
	}
	type row struct {
		Quadkey string `parquet:"quadkey"`
		Centre  point  `parquet:"centre"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []row{{"3100121120232330", point{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	_, err := Read(evidence.KindOokla, buf.Bytes(), Options{})
	var errs *Errors
	if !errors.As(err, &errs) || errs.Rows[0].Field != "centre" {
		t.Fatalf("%v; want an error naming the nested column centre", err)
	}
}
