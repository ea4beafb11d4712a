package checkspec

import "fmt"

// FieldError is a check that does not validate, blamed on one field. Its
// Error text is the message an operator reads: the field, the value as
// written and what is wrong ("timeout (15s) must be shorter than interval
// (10s)").
type FieldError struct {
	// Field is the key path of the field from the check ("target",
	// "http.valid_status_codes[0]"), or from wherever the check sits once
	// a caller put it there with Under ("checks[2].timeout").
	Field string
	// Value is the offending value as written; empty when the field is
	// missing or the rule is about the field as a whole.
	Value string
	// Reason says what is wrong.
	Reason string
	// Err is the cause underneath, if any: a regular expression's syntax
	// error, a file that cannot be read.
	Err error
	// show is how Error prints Value: "%q" (the default) or "(%s)", so
	// that quoting follows the message texts operators know.
	show string
}

// Error renders "field value reason: cause", leaving out what is empty.
func (e *FieldError) Error() string {
	s := e.Field
	if e.Value != "" || e.show != "" {
		show := e.show
		if show == "" {
			show = "%q"
		}
		s += " " + fmt.Sprintf(show, e.Value)
	}
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so that errors.Is sees a missing file.
func (e *FieldError) Unwrap() error { return e.Err }

// Under returns a copy of e whose Field starts with path: a check that
// sits at checks[2] blames "checks[2].timeout".
func (e *FieldError) Under(path string) *FieldError {
	c := *e
	c.Field = path + "." + e.Field
	return &c
}

// Under puts path in front of the field an error blames: a *FieldError
// takes it in its Field, any other error in front of its text.
func Under(path string, err error) error {
	if fe, ok := err.(*FieldError); ok {
		return fe.Under(path)
	}
	return fmt.Errorf("%s.%w", path, err)
}

// inParens is a FieldError whose value is printed in parentheses, as
// numbers and durations are: "interval (0s) must be positive".
func inParens(field string, value any, reason string) *FieldError {
	return &FieldError{Field: field, Value: fmt.Sprint(value), Reason: reason, show: "(%s)"}
}

// quoted is a FieldError whose value is printed quoted, as names and
// URLs are: `target "x" must be host:port`.
func quoted(field, value, reason string) *FieldError {
	return &FieldError{Field: field, Value: value, Reason: reason, show: "%q"}
}
