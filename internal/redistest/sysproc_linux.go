package redistest

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"time"
)

// sysProcAttr makes the kernel kill redis-server if the test process dies
// without closing it (a test timeout, a crash), so no server outlives its test.
// Linux sends the signal when the thread that started the child exits; the Go
// runtime ends a thread only when a goroutine locked to it exits, which test
// code does not do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitStopped waits, up to timeout, until the process pid is in the stopped
// state, so that a paused server has really stopped when Pause returns.
func waitStopped(pid int, timeout time.Duration) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		// The state follows the parenthesised command name: "pid (comm) T ...".
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
