package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/wire"
)

// FileName is the store's file in its data directory.
const FileName = "results.db"

// RecoveryCommand is the command that salvages the store in dir; Open's
// refusal names it, docs/storage.md explains it.
func RecoveryCommand(dir string) string {
	return fmt.Sprintf("jangkau store salvage --data %s --replace", dir)
}

// keepRecord refuses a record whose value does not decode: bbolt has no
// checksum on data pages, so a corrupted page can read as garbage.
func keepRecord(bucket [][]byte, key, value []byte) error {
	if len(bucket) == 0 {
		return fmt.Errorf("record outside a bucket")
	}
	switch top := bucket[0]; {
	case bytes.Equal(top, bucketResults):
		if len(key) < 8+1+8 {
			return fmt.Errorf("result key %x too short", key)
		}
		var r wire.Result
		return decodeResult(value, &r)
	case bytes.Equal(top, bucketProbes):
		var rec probeRecord
		return json.Unmarshal(value, &rec)
	case bytes.Equal(top, bucketMinute), bytes.Equal(top, bucketHour):
		_, err := rollup.DecodeAgg(value)
		return err
	case bytes.Equal(top, bucketRegionMinute), bytes.Equal(top, bucketRegionHour):
		_, err := rollup.DecodeRegionAgg(value)
		return err
	}
	return nil
}

// orphanRecord claims for the results bucket a record that has a
// result's key and value: results never change once written, so a stale
// copy of their page is as good as the page.
func orphanRecord(key, value []byte) [][]byte {
	if len(key) < 8+1+8 || key[len(key)-9] != 0 || bytes.IndexByte(key[8:len(key)-9], 0) >= 0 {
		return nil
	}
	var r wire.Result
	if decodeResult(value, &r) != nil || r.Seq != binary.BigEndian.Uint64(key[len(key)-8:]) {
		return nil
	}
	return [][]byte{bucketResults}
}

var rules = boltfile.Rules{Keep: keepRecord, Orphan: orphanRecord, Fix: rebuildProbes}

// Check reports on the store in dir without changing it (jangkau store
// check): ok is false when Open would refuse it or a record is lost.
func Check(dir string) (*boltfile.Report, bool, error) {
	return boltfile.Check(filepath.Join(dir, FileName), rules)
}

// Salvage copies every readable record of the store in dir into a new
// file, out (default results.db.salvaged in dir); with replace, the new
// file takes the store's place and the old one is kept beside it as
// results.db.corrupt-<unix time>, whose name is returned.
//
// A probe whose state record was lost gets one rebuilt from its
// salvaged results (acknowledged up to the highest seq held), so that
// its next batch is neither stored twice nor counted as lost. Rollup
// rows are copied as they were read: a result lost with a page stays
// counted in them, a rollup page lost leaves its rows out.
func Salvage(dir, out string, replace bool) (r *boltfile.Report, kept string, err error) {
	return boltfile.SalvageFile(filepath.Join(dir, FileName), out, replace, rules)
}

// rebuildProbes writes a state record for every probe that has results
// in the salvaged file but no record.
func rebuildProbes(tx *bolt.Tx) error {
	probes, err := tx.CreateBucketIfNotExists(bucketProbes)
	if err != nil {
		return err
	}
	results, err := tx.CreateBucketIfNotExists(bucketResults)
	if err != nil {
		return err
	}
	found := map[string]*probeRecord{}
	err = results.ForEach(func(k, v []byte) error {
		id := string(k[8 : len(k)-9])
		if probes.Get([]byte(id)) != nil {
			return nil
		}
		rec := found[id]
		if rec == nil {
			rec = &probeRecord{}
			found[id] = rec
		}
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		rec.AckedSeq, rec.LastSeq = max(rec.AckedSeq, seq), max(rec.LastSeq, seq)
		rec.ResultsStored++
		if at := time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(); at.After(rec.LastSeen) {
			rec.LastSeen = at // the newest result's time: when it was received is lost
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, rec := range found {
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := probes.Put([]byte(id), v); err != nil {
			return err
		}
	}
	return nil
}
