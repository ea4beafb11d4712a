package httpapi

import (
	"errors"
	"fmt"
	"net/http"
)

// QueryError is a request parameter the API refuses: a 400 whose body
// names the parameter and the value.
type QueryError struct {
	Field  string // the parameter as the URL spells it: "level", "bbox"
	Value  string // what the request gave
	Reason string // the sentence the client reads, naming Field and Value
}

func (e *QueryError) Error() string { return e.Reason }

// Invalid is a QueryError of field with value, its reason formatted.
func Invalid(field, value, format string, args ...any) *QueryError {
	return &QueryError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// ScopeError is a request for data outside a partner's scope: a 403. Its
// message names the scope, never whether such data exists.
type ScopeError struct {
	Partner string
	Field   string // "carrier", "region"
	Value   string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("%s %q is outside partner %s's scope", e.Field, e.Value, e.Partner)
}

// Unavailable is told of a failure of the store (or the engine reading
// it) before the 503, to log and count it.
type Unavailable func(op string, err error)

// Fail answers err of the operation op: 400 for a QueryError, 403 for a
// ScopeError, anything else 503 with Retry-After, so that a probe keeps
// its results and a client retries.
func Fail(w http.ResponseWriter, op string, err error, unavailable Unavailable) {
	var qe *QueryError
	var se *ScopeError
	switch {
	case errors.As(err, &qe):
		Error(w, http.StatusBadRequest, qe.Error())
	case errors.As(err, &se):
		Error(w, http.StatusForbidden, se.Error())
	default:
		unavailable(op, err)
		w.Header().Set("Retry-After", "5")
		Error(w, http.StatusServiceUnavailable, op+": store unavailable")
	}
}
