// Package audittest serializes tests that touch the kernel's audit state.
//
// Audit is one per kernel: one audit PID, one rule list, one enabled flag.
// `go test ./...` runs the test binaries of several packages at once, so
// each binary that touches audit takes an exclusive flock on one file for
// its whole run; a developer's manual run (flock(1) on the same file) waits
// its turn too.
package audittest

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// LockPath is the lock file; flock(1) users name the same path.
const LockPath = "/run/aptsentinel-audit-test.lock"

// Lock blocks until this process holds the audit test lock and returns the
// function that releases it. The lock also ends with the process.
func Lock() (unlock func(), err error) {
	f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit test lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit test lock %s: %w", LockPath, err)
	}
	return func() { f.Close() }, nil
}

// isFuzzWorker reports whether this process is a worker of `go test
// -fuzz`: its coordinator, the same test binary, already holds the lock,
// and a worker that waited for it would wait forever. Workers run only the
// fuzz target.
func isFuzzWorker() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			return true
		}
	}
	return false
}

// Main is for TestMain: it takes the lock, runs the tests and exits with
// their code. Without root there is nothing to serialize (the tests that
// need audit skip or fail on their own), so it runs them unlocked.
func Main(run func() int) {
	if os.Geteuid() != 0 || isFuzzWorker() {
		os.Exit(run())
	}
	unlock, err := Lock()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := run()
	unlock()
	os.Exit(code)
}
