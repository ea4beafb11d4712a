package wire

// ErrorClass says why a result failed, so that a map can tell a dead port
// from a slow link without parsing messages. A successful result has none
// (the empty class). The collector stores any class of at most 32 bytes, so
// an older collector keeps what a newer probe invents.
type ErrorClass string

// The classes a probe gives today.
const (
	ClassTimeout     ErrorClass = "timeout"
	ClassRefused     ErrorClass = "refused"
	ClassDNS         ErrorClass = "dns"
	ClassTLS         ErrorClass = "tls"
	ClassStatus      ErrorClass = "status"
	ClassBody        ErrorClass = "body"
	ClassUnreachable ErrorClass = "unreachable"
	ClassReset       ErrorClass = "reset"
	ClassOther       ErrorClass = "other"
)
