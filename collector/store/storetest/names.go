package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/jangkau/jangkau/collector/store"
)

// testAdmittedNames: a probe's admitted names come back as admitted, each
// once, apart from another probe's, and survive a name admitted twice.
func testAdmittedNames(t *testing.T, st store.Store) {
	ctx := context.Background()
	read := func(probe string) store.Names {
		t.Helper()
		n, err := st.AdmittedNames(ctx, probe)
		if err != nil {
			t.Fatalf("AdmittedNames(%s): %v", probe, err)
		}
		slices.Sort(n.Checks)
		slices.Sort(n.Services)
		return n
	}
	if n := read("p1"); len(n.Checks)+len(n.Services) != 0 {
		t.Fatalf("a probe that admitted nothing has %+v", n)
	}
	admit := func(probe string, n store.Names) {
		t.Helper()
		if err := st.AdmitNames(ctx, probe, n); err != nil {
			t.Fatalf("AdmitNames(%s, %+v): %v", probe, n, err)
		}
	}
	// Names as probes write them: spaces, commas, = and quotes are text.
	admit("p1", store.Names{Checks: []string{"web siak", "dns,a=b"}, Services: []string{"SIAK 'daerah'"}})
	admit("p1", store.Names{Checks: []string{"web siak", "tcp-443"}})
	admit("p2", store.Names{Services: []string{"pajak"}})
	want := store.Names{Checks: []string{"dns,a=b", "tcp-443", "web siak"}, Services: []string{"SIAK 'daerah'"}}
	if got := read("p1"); !slices.Equal(got.Checks, want.Checks) || !slices.Equal(got.Services, want.Services) {
		t.Errorf("p1 admitted %+v, want %+v", got, want)
	}
	if got := read("p2"); len(got.Checks) != 0 || !slices.Equal(got.Services, []string{"pajak"}) {
		t.Errorf("p2 admitted %+v, want the service pajak only", got)
	}
}
