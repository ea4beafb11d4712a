package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/collector/store"
)

// bucketNames holds, per probe, the names it was let introduce
// (store.NameKeeper): bucket "names/<probe>", keys 'c' or 's' (check,
// e-service) followed by the name, empty values. Stores from before it
// get the bucket at their first AdmitNames.
var bucketNames = []byte("names")

const (
	nameCheck   = 'c'
	nameService = 's'
)

// AdmitNames implements store.NameKeeper.
func (s *Store) AdmitNames(ctx context.Context, probe string, n store.Names) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketNames)
		if err != nil {
			return err
		}
		b, err := top.CreateBucketIfNotExists([]byte(probe))
		if err != nil {
			return err
		}
		for _, kn := range []struct {
			kind  byte
			names []string
		}{{nameCheck, n.Checks}, {nameService, n.Services}} {
			for _, name := range kn.names {
				if err := b.Put(append([]byte{kn.kind}, name...), []byte{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrap(fmt.Sprintf("admit names of probe %s", probe), err)
	}
	return nil
}

// AdmittedNames implements store.NameKeeper.
func (s *Store) AdmittedNames(ctx context.Context, probe string) (store.Names, error) {
	var n store.Names
	err := s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketNames)
		if top == nil {
			return nil
		}
		b := top.Bucket([]byte(probe))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			switch {
			case len(k) > 1 && k[0] == nameCheck:
				n.Checks = append(n.Checks, string(k[1:]))
			case len(k) > 1 && k[0] == nameService:
				n.Services = append(n.Services, string(k[1:]))
			}
			return nil
		})
	})
	if err != nil {
		return store.Names{}, wrap(fmt.Sprintf("read names of probe %s", probe), err)
	}
	return n, nil
}
