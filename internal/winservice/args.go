// Package winservice is the platform-independent part of `jangkau
// service`, the probe as a Windows service: its command line, its
// default paths and its state changes. cmd/jangkau/service_windows.go
// connects them to golang.org/x/sys/windows/svc; here they are tested on
// every platform.
package winservice

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Args is a parsed `jangkau service` command line.
type Args struct {
	Action   string // install, uninstall or run
	Name     string // the service's name in the Service Control Manager
	Config   string // the probe's config file
	LogFile  string // where run writes the probe's log
	LogLevel string
}

// DefaultName is the name services.msc and `sc query` show.
const DefaultName = "jangkau-probe"

// DataDir is %ProgramData%\jangkau, where the config, the log and
// (by default, beside the config) the spool live. programData is the
// environment's %ProgramData%; empty means the usual C:\ProgramData.
func DataDir(programData string) string {
	if programData == "" {
		programData = `C:\ProgramData`
	}
	return strings.TrimRight(programData, `\`) + `\jangkau`
}

// ParseArgs reads the arguments of `jangkau service`: ACTION [flags].
// programData is the environment's %ProgramData%; usage goes to stderr.
func ParseArgs(args []string, programData string, stderr io.Writer) (Args, error) {
	dir := DataDir(programData)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, Help)
		return Args{}, errors.New("name an action: install, uninstall or run")
	}
	a := Args{Action: args[0]}
	switch a.Action {
	case "install", "uninstall", "run":
	default:
		fmt.Fprint(stderr, Help)
		return Args{}, fmt.Errorf("unknown action %q: write install, uninstall or run", a.Action)
	}
	fs := flag.NewFlagSet("jangkau service "+a.Action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.Name, "name", DefaultName, "the service's `name` (more than one probe on a server need different names)")
	fs.StringVar(&a.Config, "config", dir+`\probe.yaml`, "probe config `file` (YAML)")
	fs.StringVar(&a.LogFile, "log-file", dir+`\probe.log`, "run: append the probe's log to `file`")
	fs.StringVar(&a.LogLevel, "log-level", "info", "run: debug, info, warn or error")
	if err := fs.Parse(args[1:]); err != nil {
		return Args{}, err
	}
	if fs.NArg() > 0 {
		return Args{}, fmt.Errorf("unexpected argument %q after %s: flags only", fs.Arg(0), a.Action)
	}
	if a.Name == "" || strings.ContainsAny(a.Name, `/\`) {
		return Args{}, fmt.Errorf("--name %q: a service name may not be empty or hold / or \\", a.Name)
	}
	return a, nil
}

// Help is the usage of `jangkau service`.
const Help = `Usage: jangkau service install|uninstall|run [--config FILE] [--name NAME]
  install     register the probe as an automatic Windows service (run as Administrator)
  uninstall   stop it and remove it
  run         what the Service Control Manager starts; not for a console (use jangkau probe)
Defaults: --config %ProgramData%\jangkau\probe.yaml, log in %ProgramData%\jangkau\probe.log
`
