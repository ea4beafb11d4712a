package main

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// memoryVars are the Go runtime's memory settings. No tool inherits them
// from the bench's environment: both get exactly -env.
var memoryVars = []string{"GOMEMLIMIT", "GOGC"}

// parseIntervals reads -intervals, a comma-separated list of durations.
func parseIntervals(s string) ([]time.Duration, error) {
	var ds []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("-intervals: %q is not a positive duration; give e.g. 2s,5s,10s,60s", f)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// parseEnv reads -env, NAME=VALUE pairs of the Go memory settings.
func parseEnv(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var env []string
	for kv := range strings.SplitSeq(s, ",") {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !slices.Contains(memoryVars, name) {
			return nil, fmt.Errorf("-env: %q is not NAME=VALUE with NAME one of %s", kv, strings.Join(memoryVars, ", "))
		}
		env = append(env, kv)
	}
	return env, nil
}

// childEnv is this process's environment without the Go memory settings,
// plus env.
func childEnv(env []string) []string {
	out := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(memoryVars, name)
	})
	return append(out, env...)
}

// phasesOf lists the settings of one run in the order they are measured:
// every interval, every phase.
func phasesOf(o options) []phase {
	var out []phase
	for _, iv := range o.intervals {
		for _, name := range o.phases {
			ph := phase{name: name, interval: iv}
			switch name {
			case "http":
				ph.http = o.nHTTP
			case "icmp":
				ph.icmp = o.nICMP
			case "mixed":
				ph.http, ph.icmp = o.nHTTP, o.nICMP
			}
			out = append(out, ph)
		}
	}
	return out
}

func resultKey(tool string, interval time.Duration, phase string) string {
	return fmt.Sprintf("%s/%s/%s", tool, interval, phase)
}

// printHeader records what was compared: the binaries, how they were
// built, the memory settings both ran under, the load and the setup.
func printHeader(o options) {
	fmt.Printf("jangkau commit:    %s\n", sourceCommit())
	fmt.Printf("jangkau probe:     %s\n", buildLine(o.jangkauProbe))
	fmt.Printf("jangkau collector: %s\n", buildLine(o.jangkau))
	fmt.Printf("blackbox_exporter: %s; %s\n", blackboxVersion(o.blackbox), buildLine(o.blackbox))
	env := "none (GOMEMLIMIT and GOGC unset: the Go runtime's defaults)"
	if len(o.env) > 0 {
		env = strings.Join(o.env, " ")
	}
	fmt.Printf("memory settings of both tools: %s\n", env)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average at start: %s", b)
	}
	fmt.Printf("%d HTTP targets (handler sleeps %s), %d ICMP targets, every %v, timeout min(%s, interval/2), window max(%s, interval/2), %d runs; tools one after the other\n",
		o.nHTTP, handlerSleep, o.nICMP, o.intervals, o.timeout, o.duration, o.runs)
}

// buildLine is what `go version -m` says of a binary: its path, the Go
// version it was built with, its main module and version, its VCS
// revision (and whether the tree was modified) and build tags.
func buildLine(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return bin + ": no Go build info (" + err.Error() + ")"
	}
	parts := []string{bin, bi.GoVersion, bi.Main.Path + "@" + bi.Main.Version}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.modified", "-tags":
			parts = append(parts, s.Key+"="+s.Value)
		}
	}
	return strings.Join(parts, " ")
}

// sourceCommit is the commit of the tree the bench runs in, which is what
// it builds unless -jangkau and -jangkau-probe name other binaries (whose
// build line then says what they are, if they were stamped).
func sourceCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown (git rev-parse HEAD: " + err.Error() + ")"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c + " (of the tree the bench runs in)"
}
