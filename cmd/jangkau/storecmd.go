package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/probe/spool"
)

// fileTool is what `jangkau store|spool check|salvage` needs of a bbolt
// file's owner.
type fileTool struct {
	name    string // "store" or "spool"
	dirFlag string // "data" or "dir"
	dirHelp string
	// dirOf reads the directory from a config file.
	dirOf   func(config string) (string, error)
	check   func(dir string) (*boltfile.Report, bool, error)
	salvage func(dir, out string, replace bool) (*boltfile.Report, string, error)
}

func spoolTool() *fileTool {
	return &fileTool{
		name: "spool", dirFlag: "dir", dirHelp: "the probe's spool `dir` (spool.dir)",
		dirOf: func(config string) (string, error) {
			cfg, err := probe.LoadConfig(config)
			if err != nil {
				return "", err
			}
			return cfg.Spool.Dir, nil
		},
		check: spool.Check, salvage: spool.Salvage,
	}
}

const fileUsage = `Usage:
  jangkau %[1]s check   (--%[2]s DIR | --config FILE)
      report what is readable in the %[1]s and whether it opens; exit 1 if damaged
  jangkau %[1]s salvage (--%[2]s DIR | --config FILE) [--out FILE] [--replace]
      copy every readable record into a new file; with --replace, the new file
      takes the old one's place and the old one is kept beside it
`

// runFileCommand runs `jangkau store|spool check|salvage` and returns the
// exit code. The process holding the file must be stopped first (bbolt
// locks the file for writing; check and salvage only read it).
func runFileCommand(cmd string, args []string, stdout, stderr io.Writer) int {
	tool := spoolTool()
	if cmd == "store" {
		if tool = storeTool(); tool == nil {
			fmt.Fprintln(stderr, "jangkau store: not in this probe-only build (built with -tags probeonly); use a full jangkau binary")
			return 2
		}
	}
	if cmd == "store" && len(args) > 0 && args[0] == "rollup-rebuild" {
		return runRollupRebuild(context.Background(), args[1:], stderr)
	}
	if len(args) == 0 || (args[0] != "check" && args[0] != "salvage") {
		fmt.Fprintf(stderr, fileUsage, tool.name, tool.dirFlag)
		if cmd == "store" {
			fmt.Fprint(stderr, "  jangkau store rollup-rebuild --config FILE [--from T] [--to T]\n      recompute the InfluxDB store's rollups from its raw points (see -h)\n")
		}
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("jangkau "+cmd+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String(tool.dirFlag, "", tool.dirHelp)
	config := fs.String("config", "", "read the directory from this config `file`")
	out := fs.String("out", "", "salvage into this `file` (default: the file's name + .salvaged, beside it)")
	replace := fs.Bool("replace", false, "put the salvaged file in place of the damaged one, which is kept as <name>.corrupt-<time>")
	if fs.Parse(args[1:]) != nil {
		return 2
	}
	if *dir == "" && *config != "" {
		d, err := tool.dirOf(*config)
		if err != nil {
			fmt.Fprintf(stderr, "jangkau %s %s: %v\n", cmd, sub, err)
			return 1
		}
		*dir = d
	}
	if *dir == "" {
		fmt.Fprintf(stderr, "jangkau %s %s: --%s or --config is required\n", cmd, sub, tool.dirFlag)
		return 2
	}
	if sub == "check" {
		rep, ok, err := tool.check(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "jangkau %s check: %v\n", cmd, err)
			return 1
		}
		printReport(stdout, rep)
		if !ok {
			fmt.Fprintf(stdout, "DAMAGED: keep every readable record with `jangkau %s salvage --%s %s --replace`\n", cmd, tool.dirFlag, *dir)
			return 1
		}
		fmt.Fprintln(stdout, "OK")
		return 0
	}
	rep, kept, err := tool.salvage(*dir, *out, *replace)
	if err != nil {
		fmt.Fprintf(stderr, "jangkau %s salvage: %v\n", cmd, err)
		return 1
	}
	printReport(stdout, rep)
	fmt.Fprintf(stdout, "salvaged %d records (%d refused as garbled, %d pages unreadable)\n", rep.Records, rep.Rejected, rep.BadPages)
	if *replace {
		if kept != "" {
			fmt.Fprintf(stdout, "the damaged file is kept as %s\n", kept)
		}
		fmt.Fprintf(stdout, "the salvaged file is in place: start the %s again\n", map[string]string{"store": "collector", "spool": "probe"}[cmd])
	}
	return 0
}

// printReport prints what a walk found, for an operator.
func printReport(w io.Writer, r *boltfile.Report) {
	if r == nil {
		return
	}
	if h := r.Header; h != nil {
		fmt.Fprintf(w, "file size: %d bytes\n", h.Size)
		for _, m := range h.Metas {
			if h.Size == 0 {
				break
			}
			state := "valid"
			if m.Err != nil {
				state = "INVALID (" + m.Err.Error() + ")"
			}
			fmt.Fprintf(w, "meta page %d: %s, commit %d, %d pages of %d bytes\n", m.Page, state, m.Txid, m.HWM, m.PageSize)
		}
	}
	names := make([]string, 0, len(r.ByBucket))
	for b := range r.ByBucket {
		names = append(names, b)
	}
	sort.Strings(names)
	var per []string
	for _, b := range names {
		per = append(per, fmt.Sprintf("%s %d", b, r.ByBucket[b]))
	}
	fmt.Fprintf(w, "pages read: %d, buckets: %d, records: %d (%s)\n", r.Pages, r.Buckets, r.Records, strings.Join(per, ", "))
	if r.Orphans > 0 {
		fmt.Fprintf(w, "of which %d found on pages the tree no longer reaches\n", r.Orphans)
	}
	if r.Rejected > 0 {
		fmt.Fprintf(w, "records that do not decode: %d\n", r.Rejected)
	}
	fmt.Fprintf(w, "unreadable pages: %d\n", r.BadPages)
	for _, b := range r.Bad {
		fmt.Fprintf(w, "  - %s\n", b)
	}
	for _, p := range r.Integrity {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
}
