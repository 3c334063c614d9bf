package audit

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// The real-kernel tests of connections made without connect(2) (TCP Fast
// Open, io_uring) share this: a loopback listener to connect to, a child
// that makes one connection, and a session whose Connect events are
// collected and waited for.

// acceptLoopback listens on 127.0.0.1 and closes every connection it
// accepts until the test ends; it returns the address.
func acceptLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// connectChild makes one connection by conntest.Connect's mode in a child
// (the session's never rule hides the test process itself), under prefix
// (unshare -n) if given, and returns its pid.
func connectChild(t *testing.T, mode, addr string, prefix ...string) int {
	t.Helper()
	argv := append(prefix, os.Args[0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=connect", "APTSENTINEL_CONNECT="+mode+" "+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s child: %v\n%s", mode, err, out)
	}
	t.Logf("%s %s: %s", mode, addr, out)
	return cmd.Process.Pid
}

// connectWatch runs a session and assembles its records, keeping the
// Connect events.
type connectWatch struct {
	s        *Session
	done     chan error
	mu       sync.Mutex
	connects []*Connect
}

func watchConnects(t *testing.T, s *Session) *connectWatch {
	w := &connectWatch{s: s, done: make(chan error, 1)}
	a := NewAssembler(AssemblerConfig{})
	go func() {
		w.done <- s.Run(t.Context(), func(r Record) {
			a.Push(r, func(e Event) { //nolint:errcheck // malformed records are not these tests' subject
				if c, ok := e.(*Connect); ok {
					w.mu.Lock()
					w.connects = append(w.connects, c)
					w.mu.Unlock()
				}
			})
		})
	}()
	return w
}

// wait returns the Connect event of pid to dest, failing the test when
// none came within 5 s.
func (w *connectWatch) wait(t *testing.T, what string, pid int, dest string) *Connect {
	t.Helper()
	want := netip.MustParseAddrPort(dest)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, c := range w.all() {
			if c.Subject.PID == pid && c.Dest == want {
				return c
			}
		}
	}
	t.Fatalf("%s: no Connect event from pid %d to %s", what, pid, dest)
	return nil
}

// all returns the Connect events so far.
func (w *connectWatch) all() []*Connect {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Connect(nil), w.connects...)
}

// close closes the session; its Run must end with ErrClosed.
func (w *connectWatch) close(t *testing.T) {
	t.Helper()
	if err := w.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-w.done; !errors.Is(err, ErrClosed) {
		t.Errorf("Run: %v", err)
	}
}
