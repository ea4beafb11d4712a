// Package strictyaml decodes YAML in which an unknown key is an error, as
// every config and catalogue of jangkau is read: a misspelt key must fail
// at load, not be silently ignored.
//
// Before decoding, it walks the document beside the Go value it fills, so
// that its errors speak the operator's language: an unknown key names its
// path and the nearest known key ("line 2: upload.intervl: field intervl
// not found; did you mean interval?"), and a duration written as a bare
// number says "write a duration such as 30s". No Go type name reaches the
// message.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Decode decodes data into v, refusing keys v has no field for; the error
// names the key, its path and its line. An empty document returns io.EOF
// (test with errors.Is), so that each caller decides whether empty is
// allowed.
func Decode(data []byte, v any) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return err
		}
		return plain(err)
	}
	if err := walk(&doc, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return plain(dec.Decode(v))
}

// KeyError is a key or value the document has where the Go value cannot
// take it.
type KeyError struct {
	Line int
	// Path is the key's path from the top: "upload.interval",
	// "checks[2].http.method".
	Path string
	Msg  string
}

func (e *KeyError) Error() string { return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg) }

var durationType = reflect.TypeFor[time.Duration]()

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// walk checks n against t: keys a struct has no field for and durations
// written as numbers. What it cannot judge (a custom unmarshaler, a type
// mismatch) it leaves to the decoder.
func walk(n *yaml.Node, t reflect.Type, path string) error {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	if t == durationType {
		return checkDuration(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields, anyKey := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				if anyKey {
					continue
				}
				return unknownKey(k, join(path, k.Value), fields)
			}
			if err := walk(val, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			if err := walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkDuration refuses a duration written as a bare number (yaml would
// say "cannot unmarshal !!int") or as a string time.ParseDuration refuses.
func checkDuration(n *yaml.Node, path string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil
	}
	if n.Tag == "!!str" {
		if _, err := time.ParseDuration(n.Value); err == nil {
			return nil
		}
		return &KeyError{Line: n.Line, Path: path, Msg: fmt.Sprintf("%q is not a duration: write a duration such as 30s, 500ms or 1m30s", n.Value)}
	}
	return &KeyError{Line: n.Line, Path: path, Msg: fmt.Sprintf("%s is not a duration: write a duration such as 30s, 500ms or 1m30s (a unit is required)", n.Value)}
}

// yamlFields maps the keys a struct takes to their types, following
// ",inline" structs; anyKey is true when an inline map takes any key.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, anyKey bool) {
	fields = map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				anyKey = true
				continue
			}
			inner, innerAny := yamlFields(ft)
			for k, v := range inner {
				fields[k] = v
			}
			anyKey = anyKey || innerAny
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields, anyKey
}

// unknownKey is the error for key k at path, with the nearest known key
// when one is close enough to be a typo.
func unknownKey(k *yaml.Node, path string, fields map[string]reflect.Type) error {
	msg := fmt.Sprintf("field %s not found", k.Value)
	if near := nearest(k.Value, fields); near != "" {
		msg += fmt.Sprintf("; did you mean %s?", near)
	} else {
		msg += "; known keys here: " + strings.Join(slices.Sorted(maps.Keys(fields)), ", ")
	}
	return &KeyError{Line: k.Line, Path: path, Msg: msg}
}

// nearest is the known key closest to key by edit distance, if it is
// within a third of key's length (at least 1, at most 3 edits); a key
// whose underscores or case differ counts as one edit. Failing that, a
// known key that ends in the same word after an underscore (at least four
// letters: "_sha256").
func nearest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 4
	limit := max(1, min(3, len(key)/3))
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		d := editDistance(strings.ToLower(key), name)
		if strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(key), "_", ""), "-", "") == strings.ReplaceAll(name, "_", "") {
			d = min(d, 1)
		}
		if d <= limit && d < bestD {
			best, bestD = name, d
		}
	}
	if best != "" {
		return best
	}
	// The same last word names the same thing under another name:
	// token_sha256 where the key is key_sha256.
	if i := strings.LastIndexByte(key, '_'); i >= 0 && len(key)-i > 4 {
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			if strings.HasSuffix(name, key[i:]) {
				return name
			}
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance of a and b:
// Levenshtein plus the swap of two neighbours ("nmae" is one edit from
// "name"), byte-wise since keys are ASCII.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// goTypeRE matches the Go type names yaml puts in its errors.
var goTypeRE = regexp.MustCompile(` in type [A-Za-z0-9_.*\[\]]+`)

// plain removes Go type names from a yaml error, keeping its line.
func plain(err error) error {
	if err == nil {
		return nil
	}
	msg := goTypeRE.ReplaceAllString(err.Error(), "")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
