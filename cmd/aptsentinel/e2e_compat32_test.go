package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// TestE2ECompat32Connect: the hook's child is a 32-bit program whose
// connect() is the i386 socketcall(SYS_CONNECT) (arch=40000003
// syscall=102 a0=3): the b32 rules and their records must raise the alert
// as the 64-bit connect does.
func TestE2ECompat32Connect(t *testing.T) {
	requireE2E(t)
	bin := filepath.Join(t.TempDir(), "connect386")
	build := exec.Command("go", "build", "-o", bin, "./testdata/connect386")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the 32-bit connector: %v\n%s", err, out)
	}
	requireI386(t, bin)
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

// requireI386 runs the static i386 program bin without arguments (it
// prints "i386 ok") and skips the test when the kernel cannot run it. The
// kernel decides, not a file: CONFIG_IA32_EMULATION=y and
// /proc/sys/abi/vsyscall32 can be there while exec of a 32-bit ELF fails
// with ENOEXEC (ia32_emulation=false on the command line, or a hypervisor
// kernel built without the 32-bit binfmt).
func requireI386(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin).CombinedOutput()
	if err == nil && strings.TrimSpace(string(out)) == "i386 ok" {
		return
	}
	result := "unexpected output " + strings.TrimSpace(string(out))
	if err != nil {
		result = err.Error()
	}
	testenv.SkipKernelFeature(t, "32-bit x86 programs (IA32 emulation)", "exec of a static GOARCH=386 program", result)
}
