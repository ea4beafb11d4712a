//go:build !linux

package lab

import (
	"errors"
	"time"
)

type tun struct{}

func openTUN(name string) (*tun, error) { return nil, errors.New("lab: TUN devices need Linux") }

func (t *tun) read(buf []byte) (int, error) { return 0, errors.New("lab: no TUN") }
func (t *tun) write(pkt []byte) error       { return errors.New("lab: no TUN") }
func (t *tun) close()                       {}

func lockThread() {}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
