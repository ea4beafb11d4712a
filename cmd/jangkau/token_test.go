package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/probe"
)

// TestTokenOut: `jangkau token --out FILE` writes the token alone (mode
// 0600), prints only the hash line to paste, loads as a probe's
// token_file, and never overwrites a token file.
func TestTokenOut(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	var out, errb bytes.Buffer
	if code := run([]string{"token", "--out", file}, &out, &errb); code != 0 {
		t.Fatalf("jangkau token --out: exit %d, stderr %s", code, errb.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	tok := strings.TrimSuffix(string(b), "\n")
	if len(tok) != 48 || strings.ContainsAny(tok, " \n:") {
		t.Fatalf("token file holds %q, want 48 hex digits and a newline", b)
	}
	sum := sha256.Sum256([]byte(tok))
	if want := fmt.Sprintf("token_sha256: %q\n", hex.EncodeToString(sum[:])); out.String() != want {
		t.Errorf("stdout = %q, want only %q", out.String(), want)
	}
	if strings.Contains(out.String()+errb.String(), tok) {
		t.Error("the token was printed")
	}
	cfg := fmt.Sprintf("id: a\ncollector: http://127.0.0.1:8080\ntoken_file: %s\nchecks: [{name: gw, kind: tcp, target: \"127.0.0.1:22\"}]\n", file)
	pc, err := probe.ParseConfig([]byte(cfg), dir)
	if err != nil {
		t.Fatalf("the written token file does not load: %v", err)
	}
	if pc.BearerToken() != tok {
		t.Error("the probe does not present the token in the file")
	}

	out.Reset()
	errb.Reset()
	if code := run([]string{"token", "--out", file}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "already exists") {
		t.Errorf("second --out to the same file: exit %d, stderr %q; want a refusal", code, errb.String())
	}
	if b2, _ := os.ReadFile(file); !bytes.Equal(b, b2) {
		t.Error("the token file was overwritten")
	}

	out.Reset()
	if code := run([]string{"token", "--out", filepath.Join(dir, "viewer-key"), "--viewer"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "key_sha256: ") {
		t.Errorf("--viewer: exit %d, stdout %q; want a key_sha256 line", code, out.String())
	}
}
