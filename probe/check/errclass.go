package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/jangkau/jangkau/wire"
)

// statusError is a response whose status code counts as a failure.
type statusError struct {
	code   int
	status string
	note   string // why a status came back, when it helps (a redirect not followed)
}

func (e *statusError) Error() string {
	if e.note != "" {
		return fmt.Sprintf("unexpected status %s (%s)", e.status, e.note)
	}
	return fmt.Sprintf("unexpected status %s", e.status)
}

// bodyError is a response body that failed fail_if_body_matches or
// fail_if_body_not_matches.
type bodyError struct {
	pattern string
	matched bool
}

func (e *bodyError) Error() string {
	if e.matched {
		return fmt.Sprintf("body matches fail_if_body_matches %q", e.pattern)
	}
	return fmt.Sprintf("body does not match fail_if_body_not_matches %q", e.pattern)
}

// dnsAnswerError is a DNS answer that came back but is not the one
// wanted: a bad rcode or no record matching the expected text. Its class
// is "dns", even for rcode REFUSED: the server is up and answered, which
// "refused" (no one listening) would deny.
type dnsAnswerError struct{ msg string }

func (e *dnsAnswerError) Error() string { return e.msg }

// classify maps an error of a check to one of the Err* classes, so that a
// map can tell a dead port from a slow link without parsing messages.
// Order matters: a DNS lookup cut by the deadline is a timeout (the link
// is slow), a lookup that got an answer saying no is a dns error.
func classify(err error) wire.ErrorClass {
	if err == nil {
		return ""
	}
	var (
		status    *statusError
		body      *bodyError
		dnsAnswer *dnsAnswerError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &status):
		return wire.ClassStatus
	case errors.As(err, &body):
		return wire.ClassBody
	case errors.As(err, &dnsAnswer):
		return wire.ClassDNS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return wire.ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return wire.ClassRefused
	case errors.As(err, &dnsErr):
		return wire.ClassDNS
	case isTLSError(err):
		return wire.ClassTLS
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return wire.ClassUnreachable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		// The peer closed the connection before a whole answer: a server
		// that accepts and hangs up is as broken as one that resets.
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return wire.ClassReset
	}
	return wire.ClassOther
}

// isTLSError reports errors of the TLS handshake or of certificate
// verification.
func isTLSError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
		alert     tls.AlertError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		op        *net.OpError
	)
	// crypto/tls reports an alert from the peer as a *net.OpError with
	// this Op around an unexported type.
	if errors.As(err, &op) && op.Op == "remote error" {
		return true
	}
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid)
}
