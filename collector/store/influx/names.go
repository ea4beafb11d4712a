package influx

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/collector/store"
)

// measNames holds the names each probe was let introduce
// (store.NameKeeper): tags probe, kind ("check" or "service"), name; field
// admitted (true); time when it was admitted. A series per admitted name:
// the collector bounds them per probe (limits.max_unknown_names_per_probe).
// They follow the retention policy: AdmittedNames writes what it read
// again at the current time, so that a collector's restart keeps them.
const measNames = "jangkau_probe_names"

// AdmitNames implements store.NameKeeper.
func (s *Store) AdmitNames(ctx context.Context, probe string, n store.Names) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if len(n.Checks)+len(n.Services) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.write.WriteRecord(ctx, string(appendNames(nil, probe, n, time.Now().UnixNano()))); err != nil {
		return fmt.Errorf("influx: admit names of probe %s: %w", probe, err)
	}
	return nil
}

func appendNames(b []byte, probe string, n store.Names, ts int64) []byte {
	for _, kn := range []struct {
		kind  string
		names []string
	}{{"check", n.Checks}, {"service", n.Services}} {
		for _, name := range kn.names {
			b = append(b, measNames...)
			b = appendTag(b, "kind", kn.kind)
			b = appendTag(b, "name", name)
			b = appendTag(b, "probe", probe)
			b = append(b, " admitted=true "...)
			b = strconv.AppendInt(b, ts, 10)
			b = append(b, '\n')
		}
	}
	return b
}

// AdmittedNames implements store.NameKeeper.
func (s *Store) AdmittedNames(ctx context.Context, probe string) (store.Names, error) {
	if s.closed.Load() {
		return store.Names{}, store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var n store.Names
	q := fmt.Sprintf(`SELECT admitted FROM %s WHERE probe = %s GROUP BY "kind", "name" ORDER BY time DESC LIMIT 1`, measNames, quoteString(probe))
	err := s.query(ctx, q, false, func(_ int, sr *series) error {
		switch name := sr.Tags["name"]; sr.Tags["kind"] {
		case "check":
			n.Checks = append(n.Checks, name)
		case "service":
			n.Services = append(n.Services, name)
		}
		return nil
	})
	if err != nil {
		return store.Names{}, fmt.Errorf("influx: read names of probe %s: %w", probe, err)
	}
	if err := s.AdmitNames(ctx, probe, n); err != nil { // renew them against the retention policy
		return store.Names{}, err
	}
	return n, nil
}
