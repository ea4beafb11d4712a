// Package checkspec is what a check is, as written in a probe's config or
// handed out in the collector's catalogue: CheckConfig and the option
// blocks of each kind, their defaults, and a validation that builds no
// checker and opens no socket. ValidateCentral is the stricter form for
// the checks a collector hands out (no file options, interval and
// per-host rate floors), which collector and probe both apply. The probe
// runs checks (probe/check builds a checker from a CheckConfig after
// validating it here); the collector only validates and serves them, so
// it links none of the probe.
//
// Validation errors are *FieldError values that name the field, the value
// and the rule; a caller that holds a check under a key (checks[2],
// services[0]) puts the key in front with Under.
package checkspec
