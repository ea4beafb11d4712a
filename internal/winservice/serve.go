package winservice

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Cmd is a control request from the Service Control Manager, as far
// as the probe tells them apart.
type Cmd int

const (
	Interrogate Cmd = iota // report the current state again
	Stop                   // stop, or the system shuts down
)

// State is a state the service reports to the Service Control Manager.
type State int

const (
	StartPending State = iota
	Running
	StopPending
)

// String names the state for a log line.
func (s State) String() string {
	return [...]string{"start pending", "running", "stop pending"}[s]
}

// StopWait is how long a stopping service waits for the probe to
// flush its spool and return before it reports stopped anyway.
const StopWait = 20 * time.Second

// Serve runs probe until it returns or the manager asks it to
// stop, reporting each state through report. It returns probe's error:
// one from before a stop is a failure the manager should see (and
// restart on); the probe's return after a stop is not.
func Serve(cmds <-chan Cmd, report func(State), probe func(context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	report(StartPending)
	done := make(chan error, 1)
	go func() { done <- probe(ctx) }()
	state := Running
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
			case Interrogate:
				report(state)
			case Stop:
				state = StopPending
				report(state)
				cancel()
				select {
				case err := <-done:
					if err != nil && !errors.Is(err, context.Canceled) {
						return err
					}
					return nil
				case <-time.After(StopWait):
					return fmt.Errorf("the probe did not stop within %s of the stop request", StopWait)
				}
			}
		}
	}
}
