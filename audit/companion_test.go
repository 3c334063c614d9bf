package audit

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

// A session with a companion socket (the sensor's proc connector) reads it
// along with the audit records: a datagram on the companion alone wakes
// the data socket's reader at once, and every read of records is preceded
// by a read of the companion, so what the companion held before the
// records were read reaches the consumer first.
func TestSessionReadsItsCompanion(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	comp, err := mmsg.NewReader(fds[0], 8, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close()

	// order logs what reached the consumer: companion datagrams and the
	// EXECVE record of the marked exec (execMarked).
	var mu sync.Mutex
	var order []string
	drain := func() error {
		for {
			n, errno, ok := comp.ReadNow()
			if !ok || errno != 0 {
				return nil
			}
			mu.Lock()
			for i := range n {
				b, _, _ := comp.Datagram(i)
				order = append(order, string(b))
			}
			mu.Unlock()
		}
	}
	s, _ := openTestSessionConfig(t, Config{Companion: comp, CompanionRead: drain, BatchWindow: 50 * time.Millisecond})
	if !s.Follows() {
		t.Fatal("the session does not follow its companion")
	}
	col := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, func(r Record) {
			col.add(r)
			mu.Lock()
			if r.Type == TypeExecve && bytes.Contains(r.Data, []byte("aptsentinel-companion-")) {
				order = append(order, "execve")
			}
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()

	seen := func(what string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range order {
			if o == what {
				return true
			}
		}
		return false
	}
	start := time.Now()
	if err := unix.Send(fds[1], []byte("alone"), 0); err != nil {
		t.Fatal(err)
	}
	for !seen("alone") {
		if time.Since(start) > 2*time.Second {
			t.Fatal("a companion datagram alone was not read")
		}
		time.Sleep(time.Millisecond)
	}

	// Queued on the companion before the exec: read before its records.
	if err := unix.Send(fds[1], []byte("before"), 0); err != nil {
		t.Fatal(err)
	}
	execMarked(t, col, "companion")
	mu.Lock()
	defer mu.Unlock()
	bi, ei := -1, -1
	for i, o := range order {
		switch o {
		case "before":
			bi = i
		case "execve":
			if ei < 0 {
				ei = i
			}
		}
	}
	if bi < 0 || ei < 0 || bi > ei {
		t.Errorf("order %q: want the companion's datagram before the exec's records", order)
	}
}
