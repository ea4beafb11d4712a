package httpapi

import (
	"net/http"
	"runtime/debug"
)

// Panicked is told of a handler's panic, with the stack where it
// happened, to log and count it.
type Panicked func(r *http.Request, v any, stack []byte)

// Recover answers a handler's panic with a 500 instead of the dropped
// connection net/http leaves, so that an audit or access log around it
// records a 500, and tells panicked. A handler that had started its answer
// cannot be answered again: its response is broken off, as net/http does.
// http.ErrAbortHandler, a stream broken on purpose, passes through.
func Recover(h http.Handler, panicked Panicked) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			panicked(r, v, debug.Stack())
			if sw.started {
				panic(http.ErrAbortHandler)
			}
			Error(w, http.StatusInternalServerError, "internal error: the collector logged it")
		}()
		h.ServeHTTP(sw, r)
	})
}

// startedWriter notes whether the answer has begun.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Flush lets a streamed answer through.
func (w *startedWriter) Flush() {
	w.started = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
