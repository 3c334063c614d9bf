// Package proctest stops processes a test started.
package proctest

import (
	"os"
	"syscall"
	"time"
)

// Stop sends SIGTERM to p, which the test started, and waits until done is
// closed (the test's cmd.Wait returned). If grace passes first it kills p,
// waits for done and reports false: the process ignored SIGTERM.
func Stop(p *os.Process, done <-chan struct{}, grace time.Duration) bool {
	select {
	case <-done:
		return true
	default:
	}
	p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		p.Kill()
		<-done
		return false
	}
}
