package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/storetest"
	"github.com/jangkau/jangkau/probe"
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
	rs := []probe.Result{
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
		probe.Result{Seq: 2, Time: now, Check: "c", Kind: "tcp", Target: "127.0.0.1:1"}), Received: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 1 || res.Duplicates != 2 || res.AckedSeq != 3 {
		t.Errorf("after reopen: %+v, want 1 stored, 2 duplicates, acked 3", res)
	}
}
