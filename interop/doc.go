// Package interop holds tests only: the real collector binary, on the real
// Banten desa boundaries and fed through the real ingest API, driven by its
// users' own tools. A telecom partner's GDAL (ogr2ogr, ogrinfo), QGIS and
// OWSLib; a planner's browser maps (MapLibre GL JS, and OpenLayers as
// Grafana's Geomap uses it, in headless Chromium on another origin); and
// redocly's lint of the OpenAPI document. Each test asserts what a user of
// that client sees: counts, geometry validity, field types, no refused
// request, the colour a region is drawn in.
//
// The JavaScript clients are pinned by clients/package-lock.json and
// installed by `npm ci` in clients/ (scripts/test.sh does it); the Python
// clients are Debian's qgis and python3-owslib. A missing client skips a
// test outside CI and fails it in CI (internal/testenv).
package interop
