package audit

import (
	"os"
	"testing"
)

// TestDaemonWatchKnowsItsExecutable: the watch recognises a process by the
// file its /proc/PID/exe names (here the test binary itself), and nothing
// else.
func TestDaemonWatchKnowsItsExecutable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := NewDaemonWatch("/proc", exe)
	if path, ok := w.Is(os.Getpid()); !ok || path != exe {
		t.Errorf("Is(self) = %q, %v; want %q, true", path, ok, exe)
	}
	if path, ok := w.Is(1 << 30); ok {
		t.Errorf("Is(no such pid) = %q, true", path)
	}
	other := NewDaemonWatch("/proc", "/bin/sh")
	if path, ok := other.Is(os.Getpid()); ok {
		t.Errorf("a watch for /bin/sh took the test binary for it (%q)", path)
	}
}
