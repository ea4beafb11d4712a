package interop

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// TestCurlChallengeDrivenBasic is a challenge-driven client (curl
// --anyauth, as QGIS's Basic auth config for a URL): it sends the key as a
// Basic password only if the export API's challenge offers Basic. A wrong
// key and no key get different answers, so a partner knows which it is.
func TestCurlChallengeDrivenBasic(t *testing.T) {
	c := startCollector(t)
	bin := testenv.LookPath(t, "curl", "curl")
	curl := func(args ...string) (code, body string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-sS", "--noproxy", "*", "-w", "\n%{http_code}"}, args...)...)
		cmd.Env = append(os.Environ(), noProxy...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
		}
		s := strings.TrimSpace(string(out))
		i := strings.LastIndex(s, "\n")
		return s[i+1:], s[:max(i, 0)]
	}
	url := c.base + "/ogc/collections"
	if code, body := curl("--anyauth", "-u", "partner:"+c.partners["counter"], url); code != "200" {
		t.Errorf("curl --anyauth -u partner:KEY %s: %s %.200s (the challenge must offer Basic)", url, code, body)
	}
	codeNone, none := curl(url)
	codeWrong, wrong := curl("-H", "Authorization: Bearer not-a-key", url)
	if codeNone != "401" || codeWrong != "401" {
		t.Errorf("no key: %s, wrong key: %s; want 401 for both", codeNone, codeWrong)
	}
	if none == wrong {
		t.Errorf("a wrong key gets the same answer as no key: %s", none)
	}
}
