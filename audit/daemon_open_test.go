package audit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
