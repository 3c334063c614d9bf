package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/proctest"
)

// TestE2ENotifyAndWatchdog runs the binary as a Type=notify unit with
// WatchdogSec=30 would: NOTIFY_SOCKET (a datagram socket bound here) and
// WATCHDOG_USEC. It must say READY=1 once, ping WATCHDOG=1 while it runs,
// and on SIGABRT (the watchdog's signal) stop cleanly with exit status 1,
// which Restart=on-failure restarts, not Go's 2, which
// RestartPreventExitStatus=2 would not.
func TestE2ENotifyAndWatchdog(t *testing.T) {
	requireE2E(t)
	sock := filepath.Join(t.TempDir(), "notify")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cmd := exec.Command(sensorBin, "run", "--output", "stdout")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=30000000")
	var stderr proctest.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill() // by its pid; a no-op once it exited
		<-done
		if n := countRules(t, "aptsentinel"); n != 0 {
			t.Errorf("%d rules with key aptsentinel left", n)
		}
	}()

	got := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	b := make([]byte, 4096)
	for got["READY=1"] == 0 || got["WATCHDOG=1"] < 2 {
		srv.SetReadDeadline(deadline)
		n, err := srv.Read(b)
		if err != nil {
			t.Fatalf("states so far %v: %v; stderr:\n%s", got, err, stderr.String())
		}
		got[string(b[:n])]++
	}
	if got["READY=1"] != 1 {
		t.Errorf("READY=1 sent %d times", got["READY=1"])
	}
	cmd.Process.Signal(syscall.SIGABRT)
	select {
	case err := <-done:
		done <- err
		var ee *exec.ExitError
		if !asExit(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit after SIGABRT: %v; want status 1\nstderr:\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "SIGABRT") || !strings.Contains(stderr.String(), "audit rules removed") {
			t.Errorf("stderr does not tell the SIGABRT and the clean stop:\n%s", stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit within 15s of SIGABRT; stderr:\n%s", stderr.String())
	}
}
