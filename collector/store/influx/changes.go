package influx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jangkau/jangkau/collector/rollup"
)

// measChange is the change log of the rollups: one point per Write that
// wrote rollup points, tag collector, fields first_bucket and last_bucket
// (unix ns of the first and last minute bucket the Write touched), time
// the collector's clock plus a random offset under a millisecond. Every
// store polls it to learn what other collectors changed (RollupGeneration).
const measChange = "jangkau_rollup_change"

// ChangeMeasurement names the change log, for dashboards and tools.
const ChangeMeasurement = measChange

// DefaultChangePoll is how often, at most, a store reads the change log.
const DefaultChangePoll = time.Second

// changeSlack is how far before its last poll a store reads the change
// log again: a point is timed by its writer's clock and becomes visible
// once its write returns, so a point of a writer whose clock runs up to
// this much behind, or whose write took up to this long, is still seen.
const changeSlack = 5 * time.Second

// CheckCollectorID says whether id can be the collector tag: a printable
// line of at most 64 bytes, without a trailing backslash or spaces at its
// ends.
func CheckCollectorID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("collector id is empty: set one (the host name is the default)")
	case len(id) > 64:
		return fmt.Errorf("collector id %q is longer than 64 bytes", id)
	case strings.TrimSpace(id) != id || strings.HasSuffix(id, `\`):
		return fmt.Errorf("collector id %q starts or ends with a space or ends with a backslash", id)
	case strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("collector id %q holds a control character", id)
	}
	return nil
}

// defaultCollectorID is the host name.
func defaultCollectorID() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("no collector id given and no host name to default to (set storage.influxdb.collector_id): %w", err)
	}
	if err := CheckCollectorID(h); err != nil {
		return "", fmt.Errorf("the host name as collector id (set storage.influxdb.collector_id): %w", err)
	}
	return h, nil
}

// changeKey identifies one change point.
type changeKey struct {
	collector string
	time      int64
}

// appendChange appends the change point of a Write that touched minutes
// (sorted) and returns its key.
func (s *Store) appendChange(b []byte, minutes []int64) ([]byte, changeKey) {
	ts := time.Now().UnixNano() + rand.Int64N(int64(time.Millisecond))
	b = append(b, measChange...)
	b = appendTag(b, "collector", s.collector)
	b = append(b, " first_bucket="...)
	b = strconv.AppendInt(b, minutes[0], 10)
	b = append(b, "i,last_bucket="...)
	b = strconv.AppendInt(b, minutes[len(minutes)-1], 10)
	b = append(b, "i "...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '\n'), changeKey{s.collector, ts}
}

// wroteOwn stamps a Write's minutes (and their hours) once its rollup
// points and its change point are written, and remembers the change point
// so that the poll does not apply it again.
func (s *Store) wroteOwn(minutes []int64, k changeKey) {
	gen := s.gen.Add(1)
	for _, m := range minutes { // these minutes only: a backfill's may be far apart
		s.stamps.WroteRange(gen, m, m)
	}
	s.pollMu.Lock()
	s.seen[k] = true
	s.pollMu.Unlock()
}

// RollupGeneration stamps the rollup points of resolution res with
// buckets in [from, to), for coverage.NewGenerationSource: it changes
// after every Write of this store that touched one of them, at once, and
// after another collector's such Write within one poll of the change log
// (storage.influxdb.change_poll, default 1 s) once that Write returned.
// When the change log cannot be read it returns a new value every time,
// so that nothing is kept on a stale stamp.
func (s *Store) RollupGeneration(res time.Duration, from, to time.Time) uint64 {
	if err := s.poll(context.Background()); err != nil {
		s.log.Warn("reading the rollup change log failed; coverage is folded afresh until it works", "err", err)
		return s.gen.Add(1)
	}
	return s.stamps.Get(res, from, to)
}

// poll reads the change log since the last poll (less changeSlack) when
// the last one is older than the poll interval, and stamps what other
// collectors changed.
func (s *Store) poll(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	now := time.Now()
	if now.Sub(s.polled) < s.changePoll {
		return nil
	}
	since := s.polled.Add(-changeSlack).UnixNano()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	q := fmt.Sprintf("SELECT first_bucket, last_bucket FROM %s WHERE time > %d GROUP BY collector", measChange, since)
	var gen uint64
	err := s.query(ctx, q, true, func(_ int, sr *series) error {
		c := columnsOf(sr)
		for _, v := range sr.Values {
			r := row{c: c, v: v}
			k := changeKey{sr.Tags["collector"], r.int("time")}
			if s.seen[k] {
				continue
			}
			s.seen[k] = true
			if gen == 0 {
				gen = s.gen.Add(1)
			}
			first, last := r.int("first_bucket"), r.int("last_bucket")
			// A span beyond a week is not one this store's Writes make
			// (a batch is bounded): stamp its ends' hours rather than
			// a map entry per minute of it.
			if last-first > int64(7*24*time.Hour) {
				s.stamps.WroteRange(gen, first, first)
				s.stamps.WroteRange(gen, last, last)
				s.stamps.Pruned(gen, rollup.Minute, time.Unix(0, last+int64(rollup.Minute)))
				s.stamps.Pruned(gen, rollup.Hour, time.Unix(0, last+int64(rollup.Hour)))
				continue
			}
			s.stamps.WroteRange(gen, first, last)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("influx: read %s: %w", measChange, err)
	}
	for k := range s.seen {
		if k.time <= since {
			delete(s.seen, k)
		}
	}
	s.polled = now
	return nil
}
