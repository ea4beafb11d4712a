package partner

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes the export API and OGC API - Features. Tests
// validate real responses against it (collector/partner_openapi_test.go),
// so that it cannot drift from the handlers.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI serves the document to anyone: it says what exists, never
// what is in it.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json;version=3.0")
	w.Write(openAPIDocument)
}
