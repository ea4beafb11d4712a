package checkspec

import (
	"crypto/sha256"
	"encoding/hex"
)

// CataloguePath is where a probe fetches its central checks from the
// collector, authenticated by its bearer token.
const CataloguePath = "/api/v1/probes/self/checks"

// CatalogueDoc is the document the collector serves and the probe caches.
type CatalogueDoc struct {
	Checks []CheckConfig `yaml:"checks"`
}

// CatalogueETag is the entity tag of a catalogue body. Collector and probe
// compute it alike, so a probe that starts from its cache already polls
// with If-None-Match.
func CatalogueETag(body []byte) string {
	h := sha256.Sum256(body)
	return `"` + hex.EncodeToString(h[:16]) + `"`
}
