// Package httpapi holds what every HTTP surface of the collector shares:
// the coverage query every view takes (View), the typed errors of a
// request and the status each gets (Fail), the one shape of a read
// endpoint (Serve), and the bodies coverage is written in (JSON, GeoJSON,
// CSV, vector tiles). The surfaces themselves live apart by audience: the
// viewer API and ingest in collector, the partners' in collector/partner,
// the map page in collector/page.
package httpapi
