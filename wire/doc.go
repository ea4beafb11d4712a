// Package wire is the contract between a probe and the collector: what
// crosses the network in POST /api/v1/ingest. Both sides import it; it
// imports neither, so the collector's storage layer can read a result
// without linking the probe's sockets and spool.
//
// # Compatibility
//
// Fields are added, never renamed or given a new meaning, and a new
// field is optional (omitempty): a collector ignores keys it does not
// know, so an older collector takes a newer probe's batches, and a newer
// collector reads a batch without the field as an older probe means it.
// Added so far: probe_version, spool_epoch and dropped (issue 14: a new
// spool starts a new seq space; results that never got a seq are
// reported), boot_id (two senders behind one probe id are detected).
package wire
