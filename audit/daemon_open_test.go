package audit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// copyTrue installs a copy of /bin/true at path, as dpkg installs a
// package file: written under another name, then renamed into place.
func copyTrue(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".dpkg-new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// An exec of the daemon's executable calls onOpen, also for a file
// installed after the watch started and for one replaced by an upgrade;
// an exec of another file in the same directory does not.
func TestWatchOpensSeesTheDaemonsExec(t *testing.T) {
	dir := t.TempDir()
	daemon := filepath.Join(dir, "auditd")
	other := filepath.Join(dir, "other")
	copyTrue(t, other)
	w := NewDaemonWatch("/proc", daemon)
	opens := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.WatchOpens(ctx, func() { opens <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchOpens: %v", err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // the watches are in place

	run := func(path string) {
		t.Helper()
		if err := exec.Command(path).Run(); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-opens:
			if !want {
				t.Errorf("%s: onOpen called", what)
			}
		case <-time.After(time.Second):
			if want {
				t.Errorf("%s: onOpen not called", what)
			}
		}
		for len(opens) > 0 { // an exec may open the file more than once
			<-opens
		}
	}
	run(other)
	expect("exec of another file", false)
	copyTrue(t, daemon) // installed after the watch started
	expect("install", false)
	run(daemon)
	expect("exec after install", true)
	copyTrue(t, daemon) // upgraded: a new file renamed over the old
	expect("upgrade", false)
	run(daemon)
	expect("exec after upgrade", true)
}

// While WatchOpens runs, Is checks a process only around an open of the
// daemon's file: right after the daemon's exec it recognises it; once
// openedRecently has passed with no open and nothing queued, it answers
// no without a look at /proc (the sensor asks for every exec). An open
// still queued on the watch, not yet read, counts as recent.
func TestIsChecksOnlyAroundAnOpen(t *testing.T) {
	dir := t.TempDir()
	daemon := filepath.Join(dir, "auditd")
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(daemon, b, 0o755); err != nil {
		t.Fatal(err)
	}
	w := NewDaemonWatch("/proc", daemon)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.WatchOpens(ctx, func() {}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchOpens: %v", err)
		}
	}()
	for w.watchFD() < 0 {
		time.Sleep(time.Millisecond)
	}
	cmd := exec.Command(daemon, "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, ok := w.Is(cmd.Process.Pid); !ok {
		t.Fatal("the daemon's exec was not recognised")
	}
	// Once the watch has read the exec's opens, and none is recent, the
	// process is not looked at (the open may still be queued at first:
	// then it counts, as below).
	for deadline := time.Now().Add(2 * time.Second); ; {
		w.openedAt.Store(time.Now().Add(-openedRecently).UnixNano())
		if _, ok := w.Is(cmd.Process.Pid); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("recognised with no open of the file within openedRecently: /proc was read")
		}
		time.Sleep(time.Millisecond)
	}

	// An open queued on the descriptor counts, before anyone reads it.
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, daemon, unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	queued := &DaemonWatch{procRoot: "/proc", paths: []string{daemon}, inotify: fd}
	if !queued.unopened() {
		t.Fatal("a quiet watch is not unopened")
	}
	f, err := os.Open(daemon)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if queued.unopened() {
		t.Error("an open queued on the watch was not seen")
	}
}

// watchFD is WatchOpens's descriptor, -1 until its watches are in place.
func (w *DaemonWatch) watchFD() int {
	w.inoMu.RLock()
	defer w.inoMu.RUnlock()
	return w.inotify
}
