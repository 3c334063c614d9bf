package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestE2ECompat32Connect: the hook's child is a 32-bit program whose
// connect() is the i386 socketcall(SYS_CONNECT) (arch=40000003
// syscall=102 a0=3): the b32 rules and their records must raise the alert
// as the 64-bit connect does.
func TestE2ECompat32Connect(t *testing.T) {
	requireE2E(t)
	if _, err := os.Stat("/proc/sys/abi/vsyscall32"); err != nil {
		msg := "this kernel has no IA32 emulation"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	bin := filepath.Join(t.TempDir(), "connect386")
	build := exec.Command("go", "build", "-o", bin, "./testdata/connect386")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the 32-bit connector: %v\n%s", err, out)
	}
	if out, _ := exec.Command("file", bin).Output(); len(out) > 0 {
		t.Logf("%s", out)
	}
	s := startSensor(t)
	aptRun(t, "apt", "-o", preInvoke(bin+" 1.1.1.1:53; true"))
	alerts := s.waitAlerts(1, 5*time.Second)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1; logs:\n%s", len(alerts), s.logText())
	}
	events := field(alerts[0].doc, "events").([]any)
	e2 := events[1].(map[string]any)
	if field(e2, "process.name") != "connect386" || field(e2, "destination.ip") != "1.1.1.1" || field(e2, "destination.port") != 53.0 {
		t.Errorf("connect event: %v", e2)
	}
}
