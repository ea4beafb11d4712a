// Package strictyaml decodes YAML in which an unknown key is an error, as
// every config and catalogue of jangkau is read: a misspelt key must fail
// at load, not be silently ignored.
package strictyaml

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Decode decodes data into v, refusing keys v has no field for; the error
// names the key and its line. An empty document returns io.EOF (test with
// errors.Is), so that each caller decides whether empty is allowed.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}
