// Package apikey checks the secrets that probes, viewers and partners
// present: the config holds only their sha256, and a request carries the
// secret as a bearer token or a Basic password.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Ring holds the sha256 of secrets, never the secrets.
type Ring struct {
	names  []string
	hashes [][sha256.Size]byte
}

// Add registers name with hexHash, the sha256 of its secret in hex
// (checked with ValidHash when the config loads).
func (k *Ring) Add(name, hexHash string) {
	var h [sha256.Size]byte
	hex.Decode(h[:], []byte(hexHash))
	k.names = append(k.names, name)
	k.hashes = append(k.hashes, h)
}

// Match returns the name whose hash is sha256(secret). It compares against
// every entry in constant time, so timing tells nothing of which matched.
func (k *Ring) Match(secret string) (string, bool) {
	if secret == "" {
		return "", false
	}
	h := sha256.Sum256([]byte(secret))
	found := -1
	for i := range k.hashes {
		if subtle.ConstantTimeCompare(h[:], k.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return k.names[found], true
}

// FromRequest takes the secret from "Authorization: Bearer" or, so that a
// browser can open the map page, from HTTP Basic's password.
func FromRequest(r *http.Request) string {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	const prefix = "bearer "
	h := r.Header.Get("Authorization")
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}

// Challenge sets the WWW-Authenticate challenges of a 401 for realm: one
// header for each scheme, Bearer and then Basic, because challenge-driven
// clients read one scheme a header: Qt (QGIS) and curl --anyauth skip the
// Bearer they cannot answer and pick Basic, with any user name and the key
// as password.
func Challenge(h http.Header, realm string) {
	h.Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	h.Add("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
}

// ValidHash says whether s is a sha256 in hex, as the config gives keys.
func ValidHash(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// HashError says what field, a key's or token's hash, must hold without
// showing its value, which may be the key itself pasted in its place.
func HashError(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s is missing: paste the hash line `jangkau token` printed (64 hex digits)", field)
	}
	return fmt.Errorf("%s must be 64 hex digits, the sha256 of the token that `jangkau token` printed; it holds %d characters (not shown: it may be the token itself, which belongs only where it is used: the probe's token file, the viewer's or partner's client)", field, len(value))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName says whether s can name a key holder (a probe id, a partner):
// 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit, so that it
// is safe in a label, a log line and a URL.
func ValidName(s string) bool { return nameRE.MatchString(s) }
