package interop

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/wire"
)

// probe is one probe of the fixture: where it stands and how its checks go.
type probe struct {
	id, token, carrier string
	desa               string // the desa it stands in
	lat, lon           float64
	byCode             bool // placed by region code only, no location
	ok                 func(seq uint64) bool
	seq                uint64
}

// The fixture's probes: Kab. Pandeglang (36.01) cut off, Kab. Lebak (36.02)
// degraded, Kota Serang (36.73) and the Tangerangs (36.71, 36.03) good, and
// one probe in Kota Cilegon (36.72) placed by its desa code only.
var fixtureKabupaten = []struct {
	kab, carrier string
	probes       int
	byCode       bool
	ok           func(seq uint64) bool
	want         coverage.Status
}{
	{"36.01", "telkomsel", 3, false, func(uint64) bool { return false }, coverage.StatusBlank},
	{"36.02", "indosat", 1, false, func(seq uint64) bool { return seq%5 != 0 }, coverage.StatusDegraded},
	{"36.73", "telkomsel", 2, false, func(uint64) bool { return true }, coverage.StatusGood},
	{"36.71", "indosat", 1, false, func(uint64) bool { return true }, coverage.StatusGood},
	{"36.03", "xl", 1, false, func(uint64) bool { return true }, coverage.StatusGood},
	{"36.72", "xl", 1, true, func(uint64) bool { return true }, coverage.StatusGood},
}

const pandeglang = "36.01"

// fixtureProbes places the probes in desa whose source centroid lies inside
// their own polygon, read from the boundary file directly (not through the
// collector's own code).
func fixtureProbes(regions string) ([]*probe, error) {
	data, err := os.ReadFile(regions)
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", regions, err)
	}
	byKab := map[string][]*probe{}
	for _, f := range fc.Features {
		code := f.Properties.MustString("kode")
		p := orb.Point{f.Properties.MustFloat64("src_centroid_lng"), f.Properties.MustFloat64("src_centroid_lat")}
		if inside(f.Geometry, p) && len(code) > 5 {
			byKab[code[:5]] = append(byKab[code[:5]], &probe{desa: code, lat: p[1], lon: p[0]})
		}
	}
	var out []*probe
	for _, k := range fixtureKabupaten {
		desa := byKab[k.kab]
		sort.Slice(desa, func(i, j int) bool { return desa[i].desa < desa[j].desa })
		if len(desa) < k.probes {
			return nil, fmt.Errorf("%s: only %d usable desa in %s", regions, len(desa), k.kab)
		}
		for i := 0; i < k.probes; i++ {
			// Spread over the kabupaten: every n-th desa in code order.
			p := desa[i*len(desa)/k.probes]
			p.id = fmt.Sprintf("p%s-%d", strings.ReplaceAll(k.kab, ".", ""), i+1)
			p.token, p.carrier, p.byCode, p.ok = randomKey(), k.carrier, k.byCode, k.ok
			out = append(out, p)
		}
	}
	return out, nil
}

func inside(g orb.Geometry, p orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// feedEvery is how often each probe reports, as a probe's upload interval.
const feedEvery = 10 * time.Second

// feed pushes three minutes of past results of every probe through the
// ingest API, checks that the collector stored them and shows the statuses
// they mean, then keeps the probes reporting until the run ends, so that
// no region turns silent however long the clients take.
func (c *collector) feed() error {
	now := time.Now().UTC()
	for _, p := range c.probes {
		var rs []wire.Result
		for at := now.Add(-3 * time.Minute); !at.After(now); at = at.Add(feedEvery) {
			rs = append(rs, p.result(at))
		}
		if err := c.push(p, rs); err != nil {
			return err
		}
	}
	if err := c.checkStored(); err != nil {
		return err
	}
	c.fed.Add(1)
	go func() {
		defer c.fed.Done()
		tick := time.NewTicker(feedEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stopFeed:
				return
			case at := <-tick.C:
				for _, p := range c.probes {
					if err := c.push(p, []wire.Result{p.result(at.UTC())}); err != nil {
						fmt.Fprintf(os.Stderr, "interop: probe %s: %v\n", p.id, err)
					}
				}
			}
		}
	}()
	return nil
}

// result is the probe's next result: its uplink check at time at, a ping
// of five packets to the district's gateway, so that loss is measured.
func (p *probe) result(at time.Time) wire.Result {
	p.seq++
	rtt := 35 + float64(p.seq%7)
	r := wire.Result{Seq: p.seq, Time: at, Check: "uplink", Kind: wire.KindICMP, Target: "gateway.banten.go.id",
		OK: p.ok(p.seq), DurationMS: rtt * 5,
		Phases: map[string]float64{"sent": 5, "received": 5, "loss": 0, "rtt_min": rtt - 1, "rtt_avg": rtt, "rtt_max": rtt + 1}}
	if !r.OK {
		r.ErrorClass, r.Error, r.DurationMS = wire.ClassTimeout, "icmp: no reply", 5000
		r.Phases = map[string]float64{"sent": 5, "received": 0, "loss": 1}
	}
	return r
}

// push sends results as a probe does: a gzip JSON wire.Batch with its token.
func (c *collector) push(p *probe, rs []wire.Result) error {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(wire.Batch{Probe: p.id, SentAt: time.Now().UTC(), FirstSeq: rs[0].Seq,
		ProbeVersion: "interop", Results: rs}); err != nil {
		return err
	}
	zw.Close()
	req, _ := http.NewRequest("POST", c.base+wire.IngestPath, &body)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ack wire.IngestResponse
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&ack) != nil {
		return fmt.Errorf("ingest of %d results of %s: %s", len(rs), p.id, resp.Status)
	}
	if len(ack.Rejected) > 0 || ack.AckedSeq != rs[len(rs)-1].Seq {
		return fmt.Errorf("ingest of %s: acked %d of %d, rejected %+v", p.id, ack.AckedSeq, rs[len(rs)-1].Seq, ack.Rejected)
	}
	return nil
}

// checkStored reads back through the viewer API what was pushed: every
// probe's results stored, and each kabupaten in the status its probes mean.
func (c *collector) checkStored() error {
	key := c.viewers["counter"]
	var probes struct {
		Probes []struct {
			ID            string `json:"id"`
			Region        string `json:"region"`
			LastSeq       uint64 `json:"last_seq"`
			ResultsStored uint64 `json:"results_stored"`
		}
	}
	if err := c.get("/api/v1/probes", key, &probes); err != nil {
		return err
	}
	stored := map[string]uint64{}
	for _, p := range probes.Probes {
		if p.ResultsStored != p.LastSeq {
			return fmt.Errorf("probe %s: %d results stored of %d", p.ID, p.ResultsStored, p.LastSeq)
		}
		stored[p.ID] = p.ResultsStored
	}
	for _, p := range c.probes {
		if stored[p.id] < p.seq {
			return fmt.Errorf("probe %s: %d results stored, %d pushed", p.id, stored[p.id], p.seq)
		}
	}
	var cov struct {
		Features []struct{ Properties struct{ Code, Status string } }
	}
	if err := c.get("/api/v1/coverage?level=2", key, &cov); err != nil {
		return err
	}
	got := map[string]string{}
	for _, f := range cov.Features {
		got[f.Properties.Code] = f.Properties.Status
	}
	for _, k := range fixtureKabupaten {
		if got[k.kab] != string(k.want) {
			return fmt.Errorf("kabupaten %s is %q after the pushed results, want %q", k.kab, got[k.kab], k.want)
		}
	}
	return nil
}
