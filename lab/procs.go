package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// proc is a process the lab started in a namespace. `ip netns exec`
// execs the program in place, so the pid is the program's own.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// procs are the lab's processes, stopped in reverse order of start.
type procs struct {
	mu   sync.Mutex
	list []*proc
	logs string // folder of the processes' output
}

// start runs bin args... in namespace ns with extra environment, its
// output in logs/<name>.log. The process gets SIGKILL if the lab dies.
func (ps *procs) start(name, ns, bin string, env []string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(ps.logs, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// role starts one of the lab's helper roles (targets, relay, proxy).
func (ps *procs) role(name, ns, bin, role, config string) (*proc, error) {
	return ps.start(name, ns, bin, []string{envRole + "=" + role, envConfig + "=" + config}, "lab", "--log-level", "info")
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited says whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process (by its pid) and SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stopAll stops every process, the latest started first.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop(8 * time.Second)
	}
}

// waitSocket waits until a unix socket accepts, or the process exits.
func waitSocket(ctx context.Context, p *proc, socket string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %v (see logs/%s.log)", p.name, p.err, p.name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no socket %s after %s", p.name, socket, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var errExited = errors.New("lab: a process exited")
