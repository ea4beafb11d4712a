package httpapi

import (
	"context"
	"net/http"
)

// Serve is the one shape of a read endpoint: parse the request, compute
// the answer, write it. An error of parse or compute is answered by Fail
// under op; write gets only what succeeded.
func Serve[Q, V any](w http.ResponseWriter, r *http.Request, op string, unavailable Unavailable,
	parse func(*http.Request) (Q, error),
	compute func(context.Context, Q) (V, error),
	write func(http.ResponseWriter, Q, V)) {
	q, err := parse(r)
	if err != nil {
		Fail(w, op, err, unavailable)
		return
	}
	v, err := compute(r.Context(), q)
	if err != nil {
		Fail(w, op, err, unavailable)
		return
	}
	write(w, q, v)
}
