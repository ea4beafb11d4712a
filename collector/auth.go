package collector

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// keyring holds the sha256 of secrets, never the secrets.
type keyring struct {
	names  []string
	hashes [][sha256.Size]byte
}

func (k *keyring) add(name, hexHash string) {
	var h [sha256.Size]byte
	hex.Decode(h[:], []byte(hexHash)) // validated at config load
	k.names = append(k.names, name)
	k.hashes = append(k.hashes, h)
}

// match returns the name whose hash is sha256(secret). It compares against
// every entry in constant time, so timing tells nothing of which matched.
func (k *keyring) match(secret string) (string, bool) {
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

// credential takes the secret from "Authorization: Bearer" or, so that a
// browser can open the map page, from HTTP Basic's password.
func credential(r *http.Request) string {
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
