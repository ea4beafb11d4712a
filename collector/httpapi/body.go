package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
)

// How an answer that is not streamed is written. Every such body gets a
// Content-Length: GDAL's /vsicurl/ (and any client that sizes a file
// before reading it) cannot open a chunked answer. Tiles and coverage,
// which map clients ask for again and again, also get a strong ETag and
// Cache-Control, and a 304 when the client already has them.

// CacheControl is what a revalidated answer may be kept for: a browser
// (not a shared cache: the answer needed a key) reuses it for a minute,
// then asks again with If-None-Match and gets a 304 if nothing changed.
const CacheControl = "private, max-age=60"

// gzipETagSuffix marks the ETag of a gzip-compressed answer, which RFC
// 9110 says must differ from the identity one; Compress adds it, Body
// accepts it back in If-None-Match.
const gzipETagSuffix = "-gzip"

// Complete answers body with Content-Type and Content-Length.
func Complete(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// Revalidated answers body as Complete does, with a strong ETag (a hash
// of the bytes) and CacheControl. A request whose If-None-Match names
// that ETag, or the one Compress gave the gzip body, gets 304; HEAD and
// Range requests are served as http.ServeContent serves them. This is the
// one call a handler makes for a cacheable answer (vector tiles, coverage).
func Revalidated(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	revalidated(w, r, contentType, etag, len(body), func() []byte { return body }, func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		zw.Write(body)
		zw.Close()
		return buf.Bytes()
	})
}

// revalidatedParts answers ps as Revalidated answers a body, gzipped by
// joining the parts' blocks (see parts).
func revalidatedParts(w http.ResponseWriter, r *http.Request, contentType string, ps parts) {
	n := 0
	for i := range ps {
		n += len(ps[i].raw)
	}
	revalidated(w, r, contentType, ps.etag(), n, ps.plain, ps.gzip)
}

// revalidated is Revalidated for a body of size bytes with etag, made
// by plain or, gzipped, by gz: only the one the answer needs is made.
func revalidated(w http.ResponseWriter, r *http.Request, contentType, etag string, size int, plain, gz func() []byte) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", CacheControl)
	if tag, ok := noneMatch(r.Header.Get("If-None-Match"), etag); ok {
		h.Set("ETag", tag) // the 304 names what the client has
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	var body []byte
	if r.Header.Get("Range") == "" && size >= gzipMinSize && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		// Compressed here rather than by Compress, which would stream it
		// without a length: the gzip form keeps Content-Length too, and
		// Compress leaves an answer that already has a Content-Encoding.
		body = gz()
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", strings.TrimSuffix(etag, `"`)+gzipETagSuffix+`"`)
		h.Set("Content-Length", strconv.Itoa(len(body))) // ServeContent leaves it out of an encoded answer
	} else {
		body = plain()
	}
	h.Add("Vary", "Accept-Encoding")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// gzipMinSize is the smallest body worth compressing, as Compress has it.
const gzipMinSize = gzhttp.DefaultMinSize

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without
// q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		return !strings.HasPrefix(q, "q=0") || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") != ""
	}
	return false
}

// noneMatch says whether an If-None-Match header names etag, with or
// without the gzip suffix (RFC 9110 13.1.2 uses the weak comparison), and
// which of the two it named.
func noneMatch(header, etag string) (string, bool) {
	gz := strings.TrimSuffix(etag, `"`) + gzipETagSuffix + `"`
	for _, t := range strings.Split(header, ",") {
		switch t = strings.TrimPrefix(strings.TrimSpace(t), "W/"); t {
		case gz:
			return gz, true
		case etag, "*":
			return etag, true
		}
	}
	return "", false
}

// Compress gzips answers for clients that accept it (Accept-Encoding),
// with github.com/klauspost/compress/gzhttp: it buffers until the answer
// is worth compressing (1 KiB), skips what is compressed already and
// Range answers, keeps HEAD uncompressed, and sets Vary. Only gzip is
// offered (not zstd), the one coding every map and GIS client decodes.
func Compress(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.EnableZstd(false), gzhttp.SuffixETag(gzipETagSuffix))
	if err != nil {
		panic(err) // the options above are constant and valid
	}
	return wrap(h)
}

// CoordinateFactor rounds output coordinates to 7 decimals, about 1 cm:
// far finer than any boundary or map cell, and a GeoJSON or WKT answer
// without the 15 digits of float noise.
const CoordinateFactor = 1e7

// RoundGeometry is a copy of g with its coordinates rounded to 7
// decimals; g itself (a loaded boundary) is left as it is.
func RoundGeometry(g orb.Geometry) orb.Geometry {
	if g == nil {
		return nil
	}
	return orb.Round(orb.Clone(g), CoordinateFactor)
}

// WKT is g as WKT with coordinates rounded to 7 decimals.
func WKT(g orb.Geometry) string { return wkt.MarshalString(RoundGeometry(g)) }
