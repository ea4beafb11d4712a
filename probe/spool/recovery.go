package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/wire"
)

// FileName is the spool's file in its directory.
const FileName = "spool.db"

// RecoveryCommand is the command that salvages the spool in dir; Open's
// refusal names it, docs/probe.md explains it.
func RecoveryCommand(dir string) string {
	return fmt.Sprintf("jangkau spool salvage --dir %s --replace", dir)
}

// keepRecord refuses a record whose value does not decode: bbolt has no
// checksum on data pages, so a corrupted page can read as garbage.
func keepRecord(bucket [][]byte, key, value []byte) error {
	if len(bucket) == 0 {
		return fmt.Errorf("record outside a bucket")
	}
	if bytes.Equal(bucket[0], bucketResults) {
		if len(key) != 8 {
			return fmt.Errorf("result key %x is not a seq", key)
		}
		var r wire.Result
		if err := json.Unmarshal(value, &r); err != nil {
			return err
		}
		if r.Seq != binary.BigEndian.Uint64(key) {
			return fmt.Errorf("result under seq %d holds seq %d", binary.BigEndian.Uint64(key), r.Seq)
		}
	}
	return nil
}

// orphanRecord claims for the results bucket a record that has a
// result's key and value: a result never changes once spooled, so a
// stale copy of its page is as good as the page. One the collector has
// acknowledged since is sent again and counted as a duplicate there.
func orphanRecord(key, value []byte) [][]byte {
	if len(key) != 8 || len(value) == 0 || value[0] != '{' || keepRecord([][]byte{bucketResults}, key, value) != nil {
		return nil
	}
	return [][]byte{bucketResults}
}

var rules = boltfile.Rules{Keep: keepRecord, Orphan: orphanRecord, Fix: keepNextSeq}

// Check reports on the spool in dir without changing it (jangkau spool
// check): ok is false when Open would refuse it or a record is lost.
func Check(dir string) (*boltfile.Report, bool, error) {
	return boltfile.Check(filepath.Join(dir, FileName), rules)
}

// Salvage copies every readable record of the spool in dir into a new
// file, out (default spool.db.salvaged in dir); with replace, the new
// file takes the spool's place and the old one is kept beside it as
// spool.db.corrupt-<unix time>, whose name is returned. The seqs of the
// salvaged results are kept, and so is the next seq to assign.
func Salvage(dir, out string, replace bool) (r *boltfile.Report, kept string, err error) {
	return boltfile.SalvageFile(filepath.Join(dir, FileName), out, replace, rules)
}

// keepNextSeq makes the salvaged spool's next seq follow its highest
// result even when the page holding next_seq was lost: a seq must never
// be handed out twice.
func keepNextSeq(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketResults)
	if err != nil {
		return err
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	var next uint64 = 1
	if v := meta.Get(keyNextSeq); len(v) == 8 {
		next = binary.BigEndian.Uint64(v)
	}
	if k, _ := b.Cursor().Last(); k != nil {
		next = max(next, binary.BigEndian.Uint64(k)+1)
	}
	return meta.Put(keyNextSeq, seqKey(next))
}
