package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A panic before the answer began is a 500 and told once; one after it
// began breaks the answer off (and is told); http.ErrAbortHandler is a
// stream broken on purpose and is not told.
func TestRecover(t *testing.T) {
	// The handler's goroutine writes told; the test reads it after the
	// client saw the answer, an order through the socket that the race
	// detector does not see: hence the lock.
	var mu sync.Mutex
	told := map[string]int{}
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/late", "/abort":
			w.Write([]byte("partial"))
			http.NewResponseController(w).Flush()
			if r.URL.Path == "/abort" {
				panic(http.ErrAbortHandler)
			}
		}
		var s []int
		_ = s[len(r.URL.Path)] // index out of range: a runtime panic
	}), func(r *http.Request, v any, stack []byte) {
		if len(stack) == 0 {
			t.Errorf("%s: no stack", r.URL.Path)
		}
		mu.Lock()
		told[r.URL.Path]++
		mu.Unlock()
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, error) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, err
	}
	if code, err := get("/early"); code != 500 || err != nil {
		t.Errorf("panic before answering: %d %v, want 500", code, err)
	}
	if _, err := get("/late"); err == nil {
		t.Errorf("panic after answering: the answer reached the client whole")
	}
	if _, err := get("/abort"); err == nil {
		t.Errorf("abort: the answer reached the client whole")
	}
	mu.Lock()
	defer mu.Unlock()
	if told["/early"] != 1 || told["/late"] != 1 || told["/abort"] != 0 {
		t.Errorf("told %v, want /early and /late once, /abort never", told)
	}
}
