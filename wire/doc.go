// Package wire is the contract between a probe and the collector: what
// crosses the network in POST /api/v1/ingest. Both sides import it; it
// imports neither, so the collector's storage layer can read a result
// without linking the probe's sockets and spool.
package wire
