// Package collector receives probe results, stores them and serves
// coverage. Its HTTP surfaces are split by audience, as Prometheus keeps
// its UI apart from its versioned API; each room reads the collector
// through a narrow interface, never the Server itself.
//
// The rooms:
//
//   - collector (this package): the wiring (Server, Run, the config),
//     ingest from probes (ingest.go, ingest_decode.go), the check
//     catalogue probes fetch, the viewer API (viewer_api.go), clock
//     offsets, metrics and region metrics, retention, and what the other
//     rooms read (readers.go).
//   - collector/partner: the telecom partners' surface: keys, scopes, rate
//     limits, audit, exports, OGC API - Features, the OpenAPI document.
//   - collector/page: the map page, its template and translations.
//   - collector/httpapi: what every surface shares: the coverage query,
//     typed request errors and their status codes, the one shape of a read
//     endpoint, GeoJSON, CSV and vector tile bodies.
//   - collector/apikey: the hashed keys of probes, viewers and partners.
//   - collector/ratelimit: token buckets per key, for probes and partners.
//   - collector/coverage: the engine: status of regions and map tiles over
//     a window, and the status rules.
//   - collector/rollup: aggregates per cell and bucket.
//   - collector/store: the Store interface, the embedded and InfluxDB
//     stores and their shared test suite. The command (cmd/jangkau)
//     chooses and opens one.
package collector
