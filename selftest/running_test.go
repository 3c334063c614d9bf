package selftest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindRunning(t *testing.T) {
	root := t.TempDir()
	proc := fakeProcs(t, root)
	proc(100, "auditd", "/usr/sbin/auditd", "/sbin/auditd")
	proc(200, "aptsentinel", "/usr/sbin/aptsentinel", "/usr/sbin/aptsentinel", "run")
	out := func([]string) (string, error) { return "journald", nil }
	status := filepath.Join(root, "status.json")
	for _, c := range []struct {
		name, file string // file "" for none
		pid        uint32
		mode       string
	}{
		{"no status file", "", 0, ""},
		{"sensor beside auditd", `{"pid":200,"mode":"multicast"}`, 200, "multicast"},
		{"stale: pid gone", `{"pid":999,"mode":"unicast"}`, 0, ""},
		{"pid reused by auditd", `{"pid":100,"mode":"unicast"}`, 0, ""},
		{"torn file", `{"pid":2`, 0, ""},
	} {
		os.Remove(status)
		if c.file != "" {
			if err := os.WriteFile(status, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		h, mode, ok, err := findRunning(root, status, out)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ok != (c.pid != 0) || h.pid != c.pid || mode != c.mode {
			t.Errorf("%s: got ok %v pid %d mode %q, want pid %d mode %q", c.name, ok, h.pid, mode, c.pid, c.mode)
		}
		if ok && (h.output != "journald" || !h.isSensor) {
			t.Errorf("%s: holder %+v", c.name, h)
		}
	}
}

// fakeProcs returns a function that writes a process of a fake /proc
// tree under root: its comm, cmdline and exe link, what findHolder reads.
func fakeProcs(t *testing.T, root string) func(pid int, comm, exe string, argv ...string) {
	return func(pid int, comm, exe string, argv ...string) {
		t.Helper()
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string]string{"comm": comm + "\n", "cmdline": strings.Join(argv, "\x00") + "\x00"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(exe, filepath.Join(dir, "exe")); err != nil {
			t.Fatal(err)
		}
	}
}
