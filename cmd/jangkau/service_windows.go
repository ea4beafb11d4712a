package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/jangkau/jangkau/internal/winservice"
	"github.com/jangkau/jangkau/probe"
)

// serviceUsage is the usage line of `jangkau service`, shown on Windows.
const serviceUsage = "  jangkau service   install|uninstall|run [--config FILE]   the probe as a Windows service (jangkau service -h)\n"

// runServiceCommand is `jangkau service ACTION`.
func runServiceCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := winservice.ParseArgs(args, os.Getenv("ProgramData"), stderr)
	if err != nil {
		return err
	}
	switch a.Action {
	case "install":
		return installService(a, stdout)
	case "uninstall":
		return uninstallService(ctx, a, stdout)
	}
	return runAsService(a)
}

// installService checks the config as the probe would load it, then
// registers the service to start with Windows and to restart after a
// failure, with this executable and --config.
func installService(a winservice.Args, stdout io.Writer) error {
	// The manager starts services in System32: a relative path would
	// name another file there.
	for _, p := range []*string{&a.Config, &a.LogFile} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("make %s absolute: %w", *p, err)
		}
		*p = abs
	}
	if _, err := probe.LoadConfig(a.Config); err != nil {
		return fmt.Errorf("--config: %w (write the probe's config there first, then install)", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this executable: %w", err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the Service Control Manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(a.Name); err == nil {
		s.Close()
		return fmt.Errorf("service %s already exists: jangkau service uninstall --name %s first, or choose another --name", a.Name, a.Name)
	}
	s, err := m.CreateService(a.Name, exe, mgr.Config{
		DisplayName:      "jangkau probe (" + a.Name + ")",
		Description:      "Measures connectivity for the jangkau collector; config " + a.Config + ", log " + a.LogFile,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true, // after the network is up
	}, "service", "run", "--name", a.Name, "--config", a.Config, "--log-file", a.LogFile, "--log-level", a.LogLevel)
	if err != nil {
		return fmt.Errorf("create service %s: %w", a.Name, err)
	}
	defer s.Close()
	// Restart after a failure: at once, after 10 s, then every minute.
	restart := []mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: time.Second}, {Type: mgr.ServiceRestart, Delay: 10 * time.Second}, {Type: mgr.ServiceRestart, Delay: time.Minute}}
	if err := s.SetRecoveryActions(restart, 24*60*60); err != nil {
		return fmt.Errorf("service %s: set its restart on failure: %w", a.Name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("service %s: set its restart on failure: %w", a.Name, err)
	}
	_, err = fmt.Fprintf(stdout, "installed service %s (automatic start): start it now with\n  sc.exe start %s\nits log is %s\n", a.Name, a.Name, a.LogFile)
	return err
}

// uninstallService stops the service if it runs, then deletes it.
func uninstallService(ctx context.Context, a winservice.Args, stdout io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the Service Control Manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(a.Name)
	if err != nil {
		return fmt.Errorf("service %s: %w (sc.exe query type= service lists the installed ones)", a.Name, err)
	}
	defer s.Close()
	if st, err := s.Control(svc.Stop); err == nil {
		for st.State != svc.Stopped && ctx.Err() == nil {
			time.Sleep(300 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	} else if !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stop service %s: %w", a.Name, err)
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("delete service %s: %w", a.Name, err)
	}
	_, err = fmt.Fprintf(stdout, "removed service %s; its config, spool and log stay in place\n", a.Name)
	return err
}

// runAsService is what the Service Control Manager starts: the probe,
// logging to a.LogFile, until the manager stops it.
func runAsService(a winservice.Args) error {
	if ok, err := svc.IsWindowsService(); err == nil && !ok {
		return errors.New("run is started by the Service Control Manager; in a console run jangkau probe --config " + a.Config)
	}
	if err := os.MkdirAll(filepath.Dir(a.LogFile), 0o755); err != nil {
		return fmt.Errorf("--log-file: %w", err)
	}
	f, err := os.OpenFile(a.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("--log-file: %w", err)
	}
	defer f.Close()
	log := newLogger(f, a.LogLevel).With("service", a.Name)
	h := &serviceHandler{log: log, probe: func(ctx context.Context) error {
		cfg, err := probe.LoadConfig(a.Config)
		if err != nil {
			return err
		}
		return runProbe(ctx, cfg, log)
	}}
	return svc.Run(a.Name, h)
}

// serviceHandler translates between the Service Control Manager and
// winservice.Serve.
type serviceHandler struct {
	log   *slog.Logger
	probe func(context.Context) error
}

// Execute is svc.Handler's: it returns when the service has stopped; a
// non-zero service-specific exit code marks a failure, which the
// recovery actions set at install restart.
func (h *serviceHandler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	cmds := make(chan winservice.Cmd)
	stopTranslating := make(chan struct{})
	defer close(stopTranslating)
	go func() {
		for {
			select {
			case r := <-reqs:
				var c winservice.Cmd
				switch r.Cmd {
				case svc.Interrogate:
					c = winservice.Interrogate
				case svc.Stop, svc.Shutdown:
					c = winservice.Stop
				default:
					continue // not in Accepts: the manager sends none
				}
				select {
				case cmds <- c:
				case <-stopTranslating:
					return
				}
			case <-stopTranslating:
				return
			}
		}
	}()
	report := func(s winservice.State) {
		st := svc.Status{WaitHint: uint32(winservice.StopWait / time.Millisecond)}
		switch s {
		case winservice.StartPending:
			st.State = svc.StartPending
		case winservice.Running:
			st.State, st.Accepts = svc.Running, svc.AcceptStop|svc.AcceptShutdown
		case winservice.StopPending:
			st.State = svc.StopPending
		}
		status <- st
		h.log.Debug("service state", "state", s)
	}
	h.log.Info("service starting")
	if err := winservice.Serve(cmds, report, h.probe); err != nil {
		h.log.Error("service failed", "err", err)
		return true, 1
	}
	h.log.Info("service stopped")
	return false, 0
}
