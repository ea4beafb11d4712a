package checkspec

import (
	"fmt"
	"io"
	"os"
)

// MaxFileBytes bounds a file a config names (a PEM bundle, a token): the
// largest CA bundles in use (Mozilla's) are about 220 KB, so 1 MiB leaves
// room, while a device or a log named by mistake (/dev/zero, a growing
// file) fails at once instead of filling memory.
const MaxFileBytes = 1 << 20

// ReadFile reads the file a config names under key, refusing one larger
// than MaxFileBytes with an error that names the key, the file and the
// limit. Errors are *FieldError values; the cause of a failed open stays
// visible to errors.Is.
func ReadFile(key, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FieldError{Field: key, Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &FieldError{Field: key, Value: path, Err: err}
	}
	if len(b) > MaxFileBytes {
		return nil, quoted(key, path, fmt.Sprintf("is larger than %d bytes, the limit for a file a config names; point %s at the file itself (a PEM bundle, a token)", MaxFileBytes, key))
	}
	return b, nil
}
