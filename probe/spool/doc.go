// Package spool is the probe's durable queue: every result stays on disk
// until the collector has acknowledged it, so that a link that is down for
// a day loses nothing. Open one with Open; the probe offers results to it,
// the uploader takes batches and acknowledges them.
package spool
