// Package boltfile opens a bbolt file without trusting it: the
// collector's results.db and the probe's spool.db both go through it.
//
// bbolt trusts its file. A file truncated to 0 bytes is taken for a new
// one and initialised empty; a meta page that fails its checksum is
// silently replaced by the previous commit's; a truncated file is mapped
// and its missing pages raise SIGBUS, which no recover() catches; a
// corrupted branch or leaf page panics (slice bounds, freelist) at every
// start. Open checks the file before bbolt maps it (Preflight: sizes and
// both meta pages, read with ReadAt, never mapped), compares it with a
// small sidecar that remembers the last commit the process saw (Known),
// and turns a panic while opening into a *CorruptError that names the
// file and the recovery command. After CloseClean, the next Open skips
// the page walk (clean.go).
//
// Walk reads the pages of a file defensively, with bounds checks on
// every read, so that Check can report and Salvage can copy every record
// that is still readable into a new file. bbolt's own page-level readers
// (internal/common, internal/guts_cli, internal/surgeon) are internal
// packages of its module and cannot be imported, and its `bbolt check`
// command stops at the first panic; the on-disk format they read is
// small and stable (version 2 since 2014), so it is read here.
package boltfile
