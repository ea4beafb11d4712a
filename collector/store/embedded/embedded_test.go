package embedded

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/storetest"
	"github.com/jangkau/jangkau/wire"
)

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestReopenKeepsDedupAndAck(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	rs := []wire.Result{
		{Seq: 1, Time: now, Check: "c", Kind: "tcp", Target: "127.0.0.1:1", OK: true},
		{Seq: 3, Time: now, Check: "c", Kind: "tcp", Target: "127.0.0.1:1", OK: true},
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(context.Background(), store.Write{Probe: "p", Results: rs, Received: now}); err != nil {
		t.Fatal(err)
	}
	// A second collector on the same directory must not open it.
	if _, err := Open(dir); err == nil {
		t.Fatal("second Open of a directory in use succeeded")
	}
	st.Close()

	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Write(context.Background(), store.Write{Probe: "p", Results: append(rs,
		wire.Result{Seq: 2, Time: now, Check: "c", Kind: "tcp", Target: "127.0.0.1:1"}), Received: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 1 || res.Duplicates != 2 || res.AckedSeq != 3 {
		t.Errorf("after reopen: %+v, want 1 stored, 2 duplicates, acked 3", res)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	wib := time.FixedZone("", 7*3600)
	for _, r := range []wire.Result{
		{Seq: 1, Time: time.Date(2026, 11, 27, 8, 0, 0, 123456789, time.UTC), Check: "c", Kind: "http", Target: "http://127.0.0.1/",
			Service: "s", OK: true, DurationMS: 182.417, Phases: map[string]float64{"tls": 64.9, "connect": 0.25},
			StatusCode: 200, Location: &wire.Location{Lat: -6.1, Lon: 106.2}},
		{Seq: 1 << 60, Time: time.Date(2026, 11, 27, 15, 0, 0, 0, wib), Check: "gw", Kind: "tcp", Target: "127.0.0.1:1",
			DurationMS: 2000, StatusCode: -1, ErrorClass: "timeout", Error: "i/o timeout \u00e9"},
	} {
		var got wire.Result
		if err := decodeResult(appendResult(nil, &r), &got); err != nil {
			t.Fatal(err)
		}
		// Compare as JSON: what Scan used to return when values were JSON.
		want, _ := json.Marshal(r)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Errorf("round trip:\n got %s\nwant %s", have, want)
		}
		if err := decodeResult(want, &got); err != nil { // values of earlier versions
			t.Errorf("JSON value: %v", err)
		}
	}
	if err := decodeResult([]byte{codecV1, 0x80}, &wire.Result{}); err == nil {
		t.Error("truncated value decoded")
	}
}
