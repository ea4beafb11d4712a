package testenv

import "testing"

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{{"true", true}, {"1", true}, {"TRUE", true}, {"", false}, {"false", false}, {"0", false}, {"yes", false}} {
		t.Setenv("CI", tc.env)
		if got := InCI(); got != tc.want {
			t.Errorf("CI=%q: InCI() = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// A missing tool skips outside CI and fails in CI.
func TestLookPathMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		rec := &recorder{TB: t}
		func() {
			defer func() { recover() }() // Skipf and Fatalf end the goroutine's test; here they panic
			LookPath(rec, "jangkau-no-such-tool", "nothing")
		}()
		if ci == "" && (!rec.skipped || rec.failed) || ci == "true" && (!rec.failed || rec.skipped) {
			t.Errorf("CI=%q: skipped %v failed %v", ci, rec.skipped, rec.failed)
		}
	}
	if p := LookPath(t, "sh", "dash"); p == "" {
		t.Error("sh not found")
	}
}

// recorder notes Skipf and Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(string, ...any) {
	r.skipped = true
	panic("skip")
}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	panic("fatal")
}
