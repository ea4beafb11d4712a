//go:build probeonly

package main

// storeTool: a probe-only build has no collector store.
func storeTool() *fileTool { return nil }
