package importer

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/tile"
)

// BenchmarkReadOoklaCSV reads a province-sized quarter of Ookla tiles
// (20,000 rows with their WKT, as the published files hold them).
func BenchmarkReadOoklaCSV(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("quadkey,tile,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n")
	const rows = 20000
	for i := range rows {
		t := maptile.Tile{X: 52000 + uint32(i%200), Y: 33500 + uint32(i/200), Z: 16}
		bd := t.Bound()
		fmt.Fprintf(&buf, "%s,\"POLYGON((%g %g, %g %g, %g %g, %g %g, %g %g))\",%d,%d,%d,%d,%d\n", tile.Quadkey(t),
			bd.Min[0], bd.Max[1], bd.Max[0], bd.Max[1], bd.Max[0], bd.Min[1], bd.Min[0], bd.Min[1], bd.Min[0], bd.Max[1],
			1000+i%30000, 300+i%9000, 20+i%100, 1+i%50, 1)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Read(evidence.KindOokla, data, Options{})
		if err != nil || len(res.Observations) != rows {
			b.Fatalf("%v, %d rows", err, len(res.Observations))
		}
	}
}
