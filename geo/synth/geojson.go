package synth

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
)

// WriteOptions say what WriteGeoJSON puts in the file.
type WriteOptions struct {
	// Levels lists the levels written, e.g. {4} for desa only (the loader
	// then builds every parent as the union of its children) or
	// {1, 2, 3, 4} for every level. Empty means {4}.
	Levels []int
}

// WriteGeoJSON writes the country as a GeoJSON FeatureCollection in the
// shape of the Kemendagri-derived files (../shared/geo): properties kode,
// nama, level, penduduk, and the ancestors' names prov_nama, kab_nama,
// kec_nama. It streams, feature by feature.
func (c *Country) WriteGeoJSON(w io.Writer, opt WriteOptions) error {
	levels := opt.Levels
	if len(levels) == 0 {
		levels = []int{4}
	}
	names := make(map[string]string)
	for level := 1; level <= 3; level++ {
		for _, r := range c.Levels[level] {
			names[r.Code] = r.Name
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(`{"type":"FeatureCollection","features":[`)
	first := true
	var buf []byte
	for _, level := range levels {
		if level < 1 || level > 4 {
			continue
		}
		for _, r := range c.Levels[level] {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			buf = c.appendFeature(buf[:0], r, names)
			bw.Write(buf)
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

var levelNames = [5]string{"", "provinsi", "kabupaten", "kecamatan", "desa"}

func (c *Country) appendFeature(b []byte, r *Region, names map[string]string) []byte {
	b = append(b, `{"type":"Feature","id":`...)
	b = strconv.AppendQuote(b, r.Code)
	b = append(b, `,"properties":{"kode":`...)
	b = strconv.AppendQuote(b, r.Code)
	b = append(b, `,"nama":`...)
	b = appendJSONString(b, r.Name)
	jenis := levelNames[r.Level]
	switch {
	case r.Level == 2 && r.Kota:
		jenis = "kota"
	case r.Level == 4 && r.Kota:
		jenis = "kelurahan"
	}
	b = append(b, `,"jenis":"`...)
	b = append(b, jenis...)
	b = append(b, `","level":`...)
	b = strconv.AppendInt(b, int64(r.Level), 10)
	b = append(b, `,"penduduk":`...)
	b = strconv.AppendInt(b, r.Population, 10)
	for level, prop := range []string{"", "prov_nama", "kab_nama", "kec_nama"} {
		if level == 0 || level >= r.Level {
			continue
		}
		b = append(b, `,"`...)
		b = append(b, prop...)
		b = append(b, `":`...)
		b = appendJSONString(b, names[ancestor(r.Code, level)])
	}
	b = append(b, `},"geometry":{"type":"Polygon","coordinates":[[`...)
	ring := c.Polygon(r)[0]
	for i, p := range ring {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, p[0], 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p[1], 'f', -1, 64)
		b = append(b, ']')
	}
	return append(b, "]]}}"...)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// ancestor is code cut to level segments.
func ancestor(code string, level int) string {
	n := 0
	for i := 0; i < len(code); i++ {
		if code[i] == '.' {
			if n++; n == level {
				return code[:i]
			}
		}
	}
	return code
}
