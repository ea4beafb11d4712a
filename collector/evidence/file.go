package evidence

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the evidence file in the collector's data directory.
const FileName = "evidence.db"

// FileStore is the Store in one bbolt file: a small, rarely written data
// set (a province's Ookla tiles are tens of thousands of rows), kept
// apart from the results so that importing evidence never holds up
// ingest. Every Put is one fsynced transaction.
//
// Layout: bucket "layers" maps id NUL version (big-endian uint32) to the
// Layer as JSON; bucket "obs" holds one bucket per layer version, same
// key, mapping the row's index (big-endian uint32) to the Observation as
// JSON, its area as a GeoJSON geometry.
type FileStore struct {
	db     *bolt.DB
	closed atomic.Bool
}

var (
	bucketLayers = []byte("layers")
	bucketObs    = []byte("obs")
)

var _ Store = (*FileStore)(nil)

// OpenFile opens (or creates) the evidence file at path.
func OpenFile(path string) (*FileStore, error) {
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open evidence %s: %w: another collector holds it; stop that one or give this one another data_dir", path, err)
		}
		return nil, fmt.Errorf("open evidence %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLayers, bucketObs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open evidence %s: %w", path, err)
	}
	return &FileStore{db: db}, nil
}

// Close implements Store.
func (s *FileStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

var errClosed = errors.New("evidence: store closed")

func versionKey(id string, version int) []byte {
	k := append([]byte(id), 0)
	return binary.BigEndian.AppendUint32(k, uint32(version))
}

// storedObs is an Observation as the file keeps it.
type storedObs struct {
	Observation
	Area *geojson.Geometry `json:"area,omitempty"`
}

// Put implements Store.
func (s *FileStore) Put(ctx context.Context, l Layer, obs []Observation) (Layer, error) {
	if s.closed.Load() {
		return Layer{}, errClosed
	}
	if !ValidID(l.ID) {
		return Layer{}, fmt.Errorf("evidence: layer id %q must be 1-64 of a-z 0-9 . _ - starting with a letter or digit", l.ID)
	}
	if !l.Kind.Valid() {
		return Layer{}, fmt.Errorf("evidence: layer %s: kind %q is not one of %v", l.ID, l.Kind, Kinds)
	}
	if err := ctx.Err(); err != nil {
		return Layer{}, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		versions, err := versionsOf(tx, l.ID)
		if err != nil {
			return err
		}
		if n := len(versions); n > 0 {
			if prev := versions[n-1]; prev.Kind != l.Kind {
				return fmt.Errorf("evidence: layer %s holds %s evidence; a %s layer needs another id", l.ID, prev.Kind, l.Kind)
			}
			l.Version = versions[n-1].Version + 1
		} else {
			l.Version = 1
		}
		if l.Imported.IsZero() {
			l.Imported = time.Now().UTC()
		}
		l.Rows = len(obs)
		key := versionKey(l.ID, l.Version)
		b, err := tx.Bucket(bucketObs).CreateBucket(key)
		if err != nil {
			return err
		}
		b.FillPercent = 1 // rows are appended in key order
		var k [4]byte
		for i := range obs {
			so := storedObs{Observation: obs[i]}
			if len(obs[i].Area) > 0 {
				so.Area = geojson.NewGeometry(obs[i].Area)
			}
			v, err := json.Marshal(so)
			if err != nil {
				return fmt.Errorf("evidence: layer %s row %d: %w", l.ID, i, err)
			}
			binary.BigEndian.PutUint32(k[:], uint32(i))
			if err := b.Put(k[:], v); err != nil {
				return err
			}
		}
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketLayers).Put(key, v)
	})
	if err != nil {
		return Layer{}, fmt.Errorf("evidence: put layer %s: %w", l.ID, err)
	}
	return l, nil
}

// versionsOf reads every stored version of id, oldest first.
func versionsOf(tx *bolt.Tx, id string) ([]Layer, error) {
	prefix := append([]byte(id), 0)
	var out []Layer
	c := tx.Bucket(bucketLayers).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+4 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var l Layer
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, fmt.Errorf("evidence: layer %s: %w", id, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Layers implements Store.
func (s *FileStore) Layers(ctx context.Context) ([]Layer, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	newest := map[string]Layer{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLayers).ForEach(func(_, v []byte) error {
			var l Layer
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			if l.Version > newest[l.ID].Version {
				newest[l.ID] = l
			}
			return ctx.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: read layers: %w", err)
	}
	out := make([]Layer, 0, len(newest))
	for _, l := range newest {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Layer) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// Versions implements Store.
func (s *FileStore) Versions(ctx context.Context, id string) ([]Layer, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	var out []Layer
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = versionsOf(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("layer %q: %w", id, ErrNotFound)
	}
	return out, nil
}

// Observations implements Store.
func (s *FileStore) Observations(ctx context.Context, id string, version int, fn func(*Observation) error) error {
	if s.closed.Load() {
		return errClosed
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if version == 0 {
			versions, err := versionsOf(tx, id)
			if err != nil {
				return err
			}
			if len(versions) == 0 {
				return fmt.Errorf("layer %q: %w", id, ErrNotFound)
			}
			version = versions[len(versions)-1].Version
		}
		b := tx.Bucket(bucketObs).Bucket(versionKey(id, version))
		if b == nil {
			return fmt.Errorf("layer %q version %d: %w", id, version, ErrNotFound)
		}
		return b.ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var so storedObs
			if err := json.Unmarshal(v, &so); err != nil {
				return fmt.Errorf("evidence: layer %s version %d: %w", id, version, err)
			}
			if so.Area != nil {
				so.Observation.Area = multiPolygon(so.Area)
			}
			return fn(&so.Observation)
		})
	})
}

// multiPolygon is a stored area as a MultiPolygon.
func multiPolygon(g *geojson.Geometry) orb.MultiPolygon {
	switch c := g.Geometry().(type) {
	case orb.MultiPolygon:
		return c
	case orb.Polygon:
		return orb.MultiPolygon{c}
	}
	return nil
}
