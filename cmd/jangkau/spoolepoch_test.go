package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Issue 14, item 3, end to end: the operator deletes a probe's spool (as
// after a corrupt one) and starts it again. It gives seqs from 1 again;
// before spool epochs the collector acknowledged every new result as a
// duplicate of the old seqs and the probe deleted them unstored.
func TestSpoolDeletedProbeStartsNewSeqSpace(t *testing.T) {
	r := newRig(t, 100)
	r.startCollector()
	r.startProbe()
	r.waitAcked(3, 30*time.Second)
	r.stop(&r.probeUp)
	last1, _ := r.spool()
	before := r.waitAcked(last1, 5*time.Second)
	if last1 < 3 || before.ResultsStored != last1 || before.AckedSeq != last1 {
		t.Fatalf("first spool gave seqs 1..%d; collector has %+v, want all stored and acknowledged", last1, before)
	}

	if err := os.RemoveAll(filepath.Join(r.dir, "spool")); err != nil {
		t.Fatal(err)
	}
	r.startProbe()
	deadline := time.Now().Add(30 * time.Second)
	for r.state().ResultsStored < last1+3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	r.stop(&r.probeUp)
	last2, _ := r.spool()
	if last2 < 3 {
		t.Fatalf("the new spool gave %d seqs in 30 s, want at least 3", last2)
	}
	after := r.waitAcked(last2, 5*time.Second)
	if after.ResultsStored != last1+last2 || after.AckedSeq != last2 || after.LastSeq != last2 || after.Lost != 0 {
		t.Errorf("after a new spool of seqs 1..%d: %+v; want results_stored %d (%d+%d), acked_seq = last_seq = %d, lost 0",
			last2, after, last1+last2, last1, last2, last2)
	}
	if _, held := r.spool(); held != 0 {
		t.Errorf("new spool still holds %d results after the final flush", held)
	}
}
