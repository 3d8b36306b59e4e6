//go:build !linux

package redistest

import (
	"syscall"
	"time"
)

// sysProcAttr returns nil: only Linux can tie the child's life to ours.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitStopped gives the signal a moment to land; only Linux can observe it.
func waitStopped(pid int, timeout time.Duration) { time.Sleep(10 * time.Millisecond) }
