package sensor

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/sdnotify"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
	"github.com/aptsentinel/aptsentinel/rules"
)

// stuckWriter blocks the event loop on its first match until released, as
// an alert writer stuck on a full pipe would.
type stuckWriter struct {
	stuck, release chan struct{}
}

func (w *stuckWriter) WriteMatch(rules.Match, alert.Host) error {
	select {
	case <-w.stuck:
		return nil // after the release
	default:
	}
	close(w.stuck)
	<-w.release
	return nil
}

// notifications counts the states a fake NOTIFY_SOCKET receives.
type notifications struct {
	c *net.UnixConn
}

// collect reads states for d and returns how many of each came.
func (n notifications) collect(d time.Duration) map[string]int {
	got := map[string]int{}
	deadline := time.Now().Add(d)
	b := make([]byte, 4096)
	for {
		n.c.SetReadDeadline(deadline)
		k, err := n.c.Read(b)
		if err != nil {
			return got
		}
		got[string(b[:k])]++
	}
}

// TestWatchdogFollowsTheLoop runs the sensor on the real kernel with a
// fake NOTIFY_SOCKET (a datagram socket bound here, as systemd binds its
// own): READY=1 at ready, WATCHDOG=1 about once a second while the loop
// turns, none while the loop is stuck in an alert writer (a real apt
// hook's alert), and again once it is released.
func TestWatchdogFollowsTheLoop(t *testing.T) {
	testenv.RequireRoot(t)
	path := filepath.Join(t.TempDir(), "notify")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	n, err := sdnotify.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	states := notifications{srv}

	w := &stuckWriter{stuck: make(chan struct{}), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(w.release)
		}
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Output: w, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Notify: n.Notify, Watchdog: true, Version: "test"})
	}()

	first := states.collect(3500 * time.Millisecond)
	if first["READY=1"] != 1 || first["WATCHDOG=1"] < 2 {
		t.Fatalf("while the loop turns: %v; want READY=1 once and WATCHDOG=1 at least twice", first)
	}

	apttest.Update(t, "apt", "-o", apttest.PreInvoke(apttest.ConnectHook("1.1.1.1", 80)))
	select {
	case <-w.stuck:
	case <-time.After(10 * time.Second):
		t.Fatal("no alert reached the writer")
	}
	states.collect(1100 * time.Millisecond) // a tick that was under way
	if stuck := states.collect(3 * time.Second); stuck["WATCHDOG=1"] != 0 {
		t.Errorf("while the loop is stuck: %v; want no WATCHDOG=1", stuck)
	}

	// The loop first works off what queued while it was stuck. Should it
	// never ping again, the dump shows where it hangs (before the fix of
	// issue 9's push/asmMu deadlock: a full auditCh at a tick).
	release()
	if again := states.collect(5 * time.Second); again["WATCHDOG=1"] < 1 {
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("after the release: %v; want WATCHDOG=1 again; goroutines:\n%s", again, dump.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
