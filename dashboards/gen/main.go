// Command gen writes jangkau's dashboards to dashboards/grafana/*.json
// (run by `go generate ./dashboards`, from that directory).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/jangkau/jangkau/dashboards"
)

func main() { os.Exit(run()) }

func run() int {
	dir := "grafana"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for _, d := range dashboards.All() {
		out, err := dashboards.Render(d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(dir, d.File), out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			return 1
		}
	}
	return 0
}
