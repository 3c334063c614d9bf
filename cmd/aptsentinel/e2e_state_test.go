package main

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

// TestE2EStopRestoresKernel checks what the sensor leaves behind: while it
// runs, its rules are loaded with its key and it holds the audit PID; after
// SIGTERM it exits 0 with no rule of its key left, the PID released and
// the enabled flag back as it was.
func TestE2EStopRestoresKernel(t *testing.T) {
	requireE2E(t)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	s := startSensor(t)
	during, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if int(during.PID) != s.cmd.Process.Pid || during.Enabled != 1 {
		t.Errorf("while running: audit pid %d enabled %d, want pid %d enabled 1", during.PID, during.Enabled, s.cmd.Process.Pid)
	}
	if n := countRules(t, "aptsentinel"); n < 4 {
		t.Errorf("while running: %d rules with key aptsentinel, want the execve, connect and exclusion rules", n)
	}
	s.stop()
	after, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.PID != 0 || after.Enabled != before.Enabled {
		t.Errorf("after stop: audit pid %d enabled %d, want pid 0 and enabled %d", after.PID, after.Enabled, before.Enabled)
	}
	if n := countRules(t, "aptsentinel"); n != 0 {
		t.Errorf("after stop: %d rules with key aptsentinel left", n)
	}
	if !strings.Contains(s.logText(), "audit rules removed") {
		t.Errorf("no stop log record; logs:\n%s", s.logText())
	}
}

func countRules(t *testing.T, key string) int {
	t.Helper()
	rules, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rules {
		if r.Key() == key {
			n++
		}
	}
	return n
}

// TestE2ERefusesWhenAuditPIDHeld: with another live consumer registered,
// the sensor exits 1 naming its pid, and changes nothing.
func TestE2ERefusesWhenAuditPIDHeld(t *testing.T) {
	requireE2E(t)
	holder := startSensor(t)
	rulesBefore := countRules(t, "aptsentinel")
	cmd := exec.Command(sensorBin, "run", "--output", "stdout")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second sensor: err %v, want exit 1; output:\n%s", err, out)
	}
	pid := holder.cmd.Process.Pid
	if !strings.Contains(string(out), "pid "+strconv.Itoa(pid)) && !strings.Contains(string(out), "PID "+strconv.Itoa(pid)) {
		t.Errorf("the refusal does not name the holder (pid %d):\n%s", pid, out)
	}
	if n := countRules(t, "aptsentinel"); n != rulesBefore {
		t.Errorf("the refused sensor changed the rules: %d, had %d", n, rulesBefore)
	}
	st, _ := audit.GetStatus()
	if int(st.PID) != pid {
		t.Errorf("audit pid is %d after the refusal, want the holder %d", st.PID, pid)
	}
}

// TestE2EUsageErrors: bad flags are refused with exit 2 and a message that
// names the flag, before anything touches the kernel.
func TestE2EUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--output", "syslog"}, "--output"},
		{[]string{"run", "--cache-size", "3"}, "--cache-size"},
		{[]string{"run", "--log-level", "loud"}, "--log-level"},
		{[]string{"run", "--parent-wait", "5s"}, "--parent-wait"},
		{[]string{"run", "extra"}, "unexpected argument"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		out, err := exec.Command(sensorBin, c.args...).CombinedOutput()
		var ee *exec.ExitError
		if !asExit(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: err %v, output %q; want exit 2 naming %q", c.args, err, out, c.want)
		}
	}
	out, err := exec.Command(sensorBin, "help", "run").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--cache-size") || !strings.Contains(string(out), "SIGTERM") {
		t.Errorf("help run: %v\n%s", err, out)
	}
}

// TestE2ENotRoot: an unprivileged user gets one clear line and exit 1.
func TestE2ENotRoot(t *testing.T) {
	requireE2E(t)
	cmd := exec.Command(sensorBin, "run", "--output", "stdout")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "root") {
		t.Errorf("as nobody: err %v, output %q; want exit 1 and a message about root", err, out)
	}
	if strings.Contains(string(out), "panic") || strings.Count(strings.TrimSpace(string(out)), "\n") > 0 {
		t.Errorf("want one line, got:\n%s", out)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// TestE2ECleanupAfterSIGKILL: a sensor killed with SIGKILL cannot clean up;
// `aptsentinel cleanup` removes its rules and releases its audit PID, and
// is a no-op the second time.
func TestE2ECleanupAfterSIGKILL(t *testing.T) {
	requireE2E(t)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	// A killed sensor restores nothing: put the enabled flag and the
	// backlog settings back as the test found them.
	t.Cleanup(func() {
		if err := audit.RestoreSettings(before); err != nil {
			t.Errorf("restoring the audit settings: %v", err)
		}
	})
	s := startSensor(t)
	pid := s.cmd.Process.Pid
	s.cmd.Process.Kill()
	<-s.done
	s.status = nil // killed on purpose: stop() must not report it
	if n := countRules(t, "aptsentinel"); n == 0 {
		t.Fatal("a SIGKILLed sensor left no rules: the test cannot tell cleanup works")
	}
	out, err := exec.Command(sensorBin, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	if n := countRules(t, "aptsentinel"); n != 0 {
		t.Errorf("after cleanup: %d rules left; output:\n%s", n, out)
	}
	st, _ := audit.GetStatus()
	if st.PID != 0 {
		t.Errorf("after cleanup: audit pid %d, want 0 (the killed sensor was %d); output:\n%s", st.PID, pid, out)
	}
	out, err = exec.Command(sensorBin, "cleanup").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "removed 0 audit rules") {
		t.Errorf("second cleanup: %v\n%s", err, out)
	}
}

// TestE2ERepairsAuditStateChangedUnderIt: journald turns audit off when it
// starts (its Audit= setting) and `auditctl -D` deletes rules; the sensor
// puts both back within a couple of seconds, says so, and detects again.
func TestE2ERepairsAuditStateChangedUnderIt(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	if err := audit.SetEnabled(0); err != nil {
		t.Fatal(err)
	}
	if n, err := audit.DeleteRulesByKey("aptsentinel"); err != nil || n == 0 {
		t.Fatalf("deleting the sensor's rules: %d, %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.logText(), "audit state repaired") {
		if time.Now().After(deadline) {
			t.Fatalf("no repair logged within 5s; logs:\n%s", s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _ := audit.GetStatus()
	if st.Enabled != 1 || countRules(t, "aptsentinel") == 0 {
		t.Errorf("after repair: enabled %d, %d rules", st.Enabled, countRules(t, "aptsentinel"))
	}
	aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", 443)))
	if got := s.waitAlerts(1, 5*time.Second); len(got) != 1 {
		t.Fatalf("after repair: %d alerts, want 1", len(got))
	}
}

// TestE2ESIGINTStopsCleanly: Ctrl-C in a terminal is SIGINT; it must clean
// up exactly as SIGTERM does and exit 0.
func TestE2ESIGINTStopsCleanly(t *testing.T) {
	requireE2E(t)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	s := startSensor(t)
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("sensor did not stop within 10s of SIGINT")
	}
	if s.status != nil {
		t.Errorf("exit after SIGINT: %v, want 0; logs:\n%s", s.status, s.logText())
	}
	after, _ := audit.GetStatus()
	if n := countRules(t, "aptsentinel"); n != 0 || after.PID != 0 || after.Enabled != before.Enabled {
		t.Errorf("after SIGINT: %d rules, audit pid %d, enabled %d (was %d)", n, after.PID, after.Enabled, before.Enabled)
	}
}
