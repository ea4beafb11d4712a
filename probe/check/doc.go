// Package check runs the kinds of check a probe has, one file per kind:
// http.go, tcp.go, icmp.go, dns.go. NewKinds returns their constructors;
// each validates its checkspec.CheckConfig with checkspec, builds what a
// run needs once, and returns a Checker whose Run measures the target and
// returns a wire.Result.
//
// The package keeps no state of its own: what checkers share (the ICMP
// sockets, a TLS config, buffers) belongs to the Kinds or the Sockets
// their owner made and closes.
package check
