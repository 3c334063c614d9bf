// Package proctest stops processes a test started.
package proctest

import (
	"bytes"
	"os"
	"sync"
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

// Buffer collects a child process's output; it is safe to read while the
// child writes (exec.Cmd copies into it from its own goroutine).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
