package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// `jangkau service` runs the probe as a Windows service: install and
// uninstall register it with the Service Control Manager, run is what
// the manager starts (service_windows.go). The argument handling, the
// default paths and the service's state changes are here, without build
// tags, so that they are tested on every platform.

// serviceArgs is a parsed `jangkau service` command line.
type serviceArgs struct {
	action   string // install, uninstall or run
	name     string // the service's name in the Service Control Manager
	config   string // the probe's config file
	logFile  string // where run writes the probe's log
	logLevel string
}

// defaultServiceName is the name services.msc and `sc query` show.
const defaultServiceName = "jangkau-probe"

// serviceDataDir is %ProgramData%\jangkau, where the config, the log and
// (by default, beside the config) the spool live. programData is the
// environment's %ProgramData%; empty means the usual C:\ProgramData.
func serviceDataDir(programData string) string {
	if programData == "" {
		programData = `C:\ProgramData`
	}
	return strings.TrimRight(programData, `\`) + `\jangkau`
}

// parseServiceArgs reads `jangkau service ACTION [flags]`.
func parseServiceArgs(args []string, programData string, stderr io.Writer) (serviceArgs, error) {
	dir := serviceDataDir(programData)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, serviceHelp)
		return serviceArgs{}, errors.New("name an action: install, uninstall or run")
	}
	a := serviceArgs{action: args[0]}
	switch a.action {
	case "install", "uninstall", "run":
	default:
		fmt.Fprint(stderr, serviceHelp)
		return serviceArgs{}, fmt.Errorf("unknown action %q: write install, uninstall or run", a.action)
	}
	fs := flag.NewFlagSet("jangkau service "+a.action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.name, "name", defaultServiceName, "the service's `name` (more than one probe on a server need different names)")
	fs.StringVar(&a.config, "config", dir+`\probe.yaml`, "probe config `file` (YAML)")
	fs.StringVar(&a.logFile, "log-file", dir+`\probe.log`, "run: append the probe's log to `file`")
	fs.StringVar(&a.logLevel, "log-level", "info", "run: debug, info, warn or error")
	if err := fs.Parse(args[1:]); err != nil {
		return serviceArgs{}, err
	}
	if fs.NArg() > 0 {
		return serviceArgs{}, fmt.Errorf("unexpected argument %q after %s: flags only", fs.Arg(0), a.action)
	}
	if a.name == "" || strings.ContainsAny(a.name, `/\`) {
		return serviceArgs{}, fmt.Errorf("--name %q: a service name may not be empty or hold / or \\", a.name)
	}
	return a, nil
}

const serviceHelp = `Usage: jangkau service install|uninstall|run [--config FILE] [--name NAME]
  install     register the probe as an automatic Windows service (run as Administrator)
  uninstall   stop it and remove it
  run         what the Service Control Manager starts; not for a console (use jangkau probe)
Defaults: --config %ProgramData%\jangkau\probe.yaml, log in %ProgramData%\jangkau\probe.log
`

// svcCmd is a control request from the Service Control Manager, as far
// as the probe tells them apart.
type svcCmd int

const (
	svcInterrogate svcCmd = iota // report the current state again
	svcStop                      // stop, or the system shuts down
)

// svcState is a state the service reports.
type svcState int

const (
	svcStartPending svcState = iota
	svcRunning
	svcStopPending
)

func (s svcState) String() string {
	return [...]string{"start pending", "running", "stop pending"}[s]
}

// serviceStopWait is how long a stopping service waits for the probe to
// flush its spool and return before it reports stopped anyway.
const serviceStopWait = 20 * time.Second

// serveService runs probe until it returns or the manager asks it to
// stop, reporting each state through report. It returns probe's error:
// one from before a stop is a failure the manager should see (and
// restart on); the probe's return after a stop is not.
func serveService(cmds <-chan svcCmd, report func(svcState), probe func(context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	report(svcStartPending)
	done := make(chan error, 1)
	go func() { done <- probe(ctx) }()
	state := svcRunning
	report(state)
	for {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("the probe stopped by itself")
			}
			return err
		case c := <-cmds:
			switch c {
			case svcInterrogate:
				report(state)
			case svcStop:
				state = svcStopPending
				report(state)
				cancel()
				select {
				case err := <-done:
					if err != nil && !errors.Is(err, context.Canceled) {
						return err
					}
					return nil
				case <-time.After(serviceStopWait):
					return fmt.Errorf("the probe did not stop within %s of the stop request", serviceStopWait)
				}
			}
		}
	}
}
