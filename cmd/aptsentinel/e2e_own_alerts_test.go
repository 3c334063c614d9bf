package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/rules"
)

// The sensor's own alerts end to end: tampering with its audit
// configuration (5dafd08a) on the real kernel, each change made by the
// real auditctl, and the alert naming it.

// ruleAlerts returns the alerts of rule id that arrived so far.
func (s *sensorProc) ruleAlerts(id string) []alertLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alertLine
	for _, a := range append(append(s.own[:len(s.own):len(s.own)], s.alerts...), s.aside...) {
		if field(a.doc, "rule.id") == id {
			out = append(out, a)
		}
	}
	return out
}

// waitRuleAlert waits for an alert of rule id for which ok holds.
func (s *sensorProc) waitRuleAlert(id string, ok func(alertLine) bool, timeout time.Duration) (alertLine, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, a := range s.ruleAlerts(id) {
			if ok(a) {
				return a, true
			}
		}
		if time.Now().After(deadline) {
			return alertLine{}, false
		}
		select {
		case <-s.newAl:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isOwnAlert tells the sensor's own alerts from detections.
func isOwnAlert(a alertLine) bool {
	id := field(a.doc, "rule.id")
	return id == rules.TamperRuleID || id == rules.LossRuleID
}

func tamperOf(kind audit.TamperKind) func(alertLine) bool {
	return func(a alertLine) bool { return field(a.doc, "aptsentinel.tamper.kind") == string(kind) }
}

func auditctl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("auditctl", args...).CombinedOutput(); err != nil {
		t.Fatalf("auditctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func requireAuditctl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("auditctl"); err != nil {
		t.Fatalf("auditctl (package auditd) is needed to tamper with the audit configuration: %v", err)
	}
}

// waitRepaired waits for the sensor's n-th "audit state repaired" log.
func (s *sensorProc) waitRepaired(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.logText(), "audit state repaired") < n {
		if time.Now().After(deadline) {
			t.Fatalf("repair %d not logged within 10s; logs:\n%s", n, s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2ETamperAlerts(t *testing.T) {
	requireE2E(t)
	requireAuditctl(t)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.SetEnabled(before.Enabled); err != nil {
			t.Errorf("restoring audit enabled %d: %v", before.Enabled, err)
		}
	})
	s := startSensor(t, "--rules-dir", t.TempDir())

	// 1. The sensor's rules deleted by key: one alert naming auditctl.
	auditctl(t, "-D", "-k", "aptsentinel")
	a, ok := s.waitRuleAlert(rules.TamperRuleID, tamperOf(audit.TamperRulesRemoved), 10*time.Second)
	if !ok {
		t.Fatalf("no tamper alert for auditctl -D -k aptsentinel; alerts %d; logs:\n%s", s.alertCount(), s.logText())
	}
	if got := field(a.doc, "process.name"); got != "auditctl" {
		t.Errorf("tamper alert process.name %v, want auditctl: %s", got, a.raw)
	}
	if got := field(a.doc, "aptsentinel.tamper.change.exe"); got == nil || !strings.HasSuffix(got.(string), "auditctl") {
		t.Errorf("tamper alert change.exe %v: %s", got, a.raw)
	}
	if got, _ := field(a.doc, "process.parent.pid").(float64); int(got) != os.Getpid() {
		t.Errorf("tamper alert process.parent.pid %v, want the test (%d)", got, os.Getpid())
	}
	if field(a.doc, "rule.severity") != "high" || field(a.doc, "event.kind") != "alert" {
		t.Errorf("tamper alert severity/kind: %s", a.raw)
	}
	if n, _ := field(a.doc, "aptsentinel.tamper.count").(float64); n < 2 {
		t.Errorf("tamper count %v: auditctl -D removes every rule of the key", n)
	}
	t.Logf("alert: %s", a.raw)
	s.waitRepaired(t, 1)
	time.Sleep(1500 * time.Millisecond) // a second settle: no second alert for the same -D
	if n := len(s.ruleAlerts(rules.TamperRuleID)); n != 1 {
		t.Errorf("%d tamper alerts after one auditctl -D, want 1", n)
	}

	// 2. A rule that shadows the sensor's connect rule.
	shadow := []string{"exit,never", "-S", "connect", "-k", "aptsentinel-test-shadow"}
	auditctl(t, append([]string{"-A"}, shadow...)...)
	t.Cleanup(func() {
		if out, err := exec.Command("auditctl", append([]string{"-d"}, shadow...)...).CombinedOutput(); err != nil {
			t.Errorf("removing the shadowing rule: %v\n%s", err, out)
		}
	})
	a, ok = s.waitRuleAlert(rules.TamperRuleID, tamperOf(audit.TamperShadowingRule), 10*time.Second)
	if !ok {
		t.Fatalf("no tamper alert for a shadowing rule; logs:\n%s", s.logText())
	}
	t.Logf("alert: %s", a.raw)
	// The sensor moves its rules ahead of the never rule.
	deadline := time.Now().Add(10 * time.Second)
	for !connectRuleFirst(t) {
		if time.Now().After(deadline) {
			out, _ := exec.Command("auditctl", "-l").CombinedOutput()
			t.Fatalf("the sensor's connect rule is not ahead of the never rule:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// 3. Audit turned off.
	auditctl(t, "-e", "0")
	a, ok = s.waitRuleAlert(rules.TamperRuleID, tamperOf(audit.TamperAuditDisabled), 10*time.Second)
	if !ok {
		t.Fatalf("no tamper alert for auditctl -e 0; logs:\n%s", s.logText())
	}
	if got := field(a.doc, "process.name"); got != "auditctl" {
		t.Errorf("audit-off alert process.name %v: %s", got, a.raw)
	}
	t.Logf("alert: %s", a.raw)
}

// connectRuleFirst reports whether the first exit rule naming connect is
// the sensor's (key aptsentinel), not the never rule.
func connectRuleFirst(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("auditctl", "-l").CombinedOutput()
	if err != nil {
		t.Fatalf("auditctl -l: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "connect") {
			continue
		}
		return strings.Contains(l, "key=aptsentinel") && !strings.Contains(l, "never")
	}
	return false
}

// TestE2ETamperAlertDisabledByID: the tamper rule disabled in rules.d
// raises nothing, while the change is still logged and repaired.
func TestE2ETamperAlertDisabledByID(t *testing.T) {
	requireE2E(t)
	requireAuditctl(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "off.toml"), []byte(`disable = ["`+rules.TamperRuleID+`"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, "--rules-dir", dir)
	auditctl(t, "-D", "-k", "aptsentinel")
	s.waitRepaired(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.logText(), "sensor audit configuration tampered with") {
		if time.Now().After(deadline) {
			t.Fatalf("tampering not logged; logs:\n%s", s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(s.ruleAlerts(rules.TamperRuleID)); n != 0 {
		t.Errorf("disabled tamper rule raised %d alerts", n)
	}
}

// forceLoss makes the kernel drop audit records while s reads nothing: the
// sensor is stopped (SIGSTOP) and runs with no backlog wait, and a flood of
// connect() in a network namespace of its own (lo down: ENETUNREACH at
// once, still audited) fills the backlog past its limit.
func forceLoss(t *testing.T, s *sensorProc) {
	t.Helper()
	flood := filepath.Join(t.TempDir(), "flood")
	if out, err := exec.Command("go", "build", "-o", flood, "./testdata/flood").CombinedOutput(); err != nil {
		t.Fatalf("building the flooder: %v\n%s", err, out)
	}
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { s.cmd.Process.Signal(syscall.SIGCONT) }
	t.Cleanup(cont)
	out, err := exec.Command("unshare", "-n", flood, "2", filepath.Join(filepath.Dir(flood), "count")).CombinedOutput()
	cont()
	if err != nil {
		t.Fatalf("flood: %v\n%s", err, out)
	}
	after, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.Lost == before.Lost {
		t.Fatalf("the flood lost no audit record (backlog limit %d): the test forces nothing", after.BacklogLimit)
	}
	t.Logf("kernel lost %d records during the flood", after.Lost-before.Lost)
}

// TestE2ELossAlert: a forced kernel loss becomes one alert of 451de76b,
// its process the sensor, its counts under aptsentinel.losses.
func TestE2ELossAlert(t *testing.T) {
	requireE2E(t)
	s := startSensor(t, "--backlog-wait", "0", "--rules-dir", t.TempDir())
	forceLoss(t, s)
	a, ok := s.waitRuleAlert(rules.LossRuleID, func(alertLine) bool { return true }, 30*time.Second) // see TestE2ELossAlertDisabledByID
	if !ok {
		t.Fatalf("no loss alert; logs:\n%s", s.logText())
	}
	t.Logf("alert: %s", a.raw)
	if got, _ := field(a.doc, "process.pid").(float64); int(got) != s.cmd.Process.Pid {
		t.Errorf("loss alert process.pid %v, want the sensor %d", got, s.cmd.Process.Pid)
	}
	if field(a.doc, "process.entity_id") == nil || field(a.doc, "process.name") != "aptsentinel" {
		t.Errorf("loss alert process: %v", field(a.doc, "process"))
	}
	if n, _ := field(a.doc, "aptsentinel.losses.kernel_lost.count").(float64); n == 0 {
		t.Errorf("loss alert kernel_lost %v, want > 0", field(a.doc, "aptsentinel.losses.kernel_lost"))
	}
	if field(a.doc, "aptsentinel.losses.start") == nil || field(a.doc, "aptsentinel.losses.end") == nil {
		t.Errorf("loss alert without its window: %s", a.raw)
	}
	// Paced: while the minute runs, no second loss alert (the final one
	// comes at stop).
	time.Sleep(2 * time.Second)
	if n := len(s.ruleAlerts(rules.LossRuleID)); n != 1 {
		t.Errorf("%d loss alerts within a minute, want 1", n)
	}
}

// TestE2ELossAlertDisabledByID: disabled in rules.d, the loss is logged
// and raises no alert.
func TestE2ELossAlertDisabledByID(t *testing.T) {
	requireE2E(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "off.toml"), []byte(`disable = ["`+rules.LossRuleID+`"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, "--backlog-wait", "0", "--rules-dir", dir)
	forceLoss(t, s)
	// The sensor first works off what queued while it was stopped (16 MiB
	// of records); under a full suite on 2 cores that took over 10 s once.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.logText(), `"msg":"Sensor lost kernel audit events"`) {
		if time.Now().After(deadline) {
			t.Fatalf("loss not logged; logs:\n%s", s.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	if n := len(s.ruleAlerts(rules.LossRuleID)); n != 0 {
		t.Errorf("disabled loss rule raised %d alerts", n)
	}
}

// TestE2ESelftestBesideAuditd: auditd holds the audit PID and the sensor
// reads the multicast group; selftest finds the sensor by its status file
// (not the audit PID) and runs the chain against it. The sensor writes to
// stdout here, so selftest says where to look, and the alert is there.
func TestE2ESelftestBesideAuditd(t *testing.T) {
	requireE2E(t)
	requireAuditd(t)
	restoreAuditState(t)
	a := startAuditd(t)
	s := startSensor(t)
	if st, _ := audit.GetStatus(); int(st.PID) != a.cmd.Process.Pid {
		t.Fatalf("audit PID %d, want auditd's %d", st.PID, a.cmd.Process.Pid)
	}
	n := s.alertCount()
	r := runSelftest(t)
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: the running sensor (pid "+pid+") writes alerts to stdout") {
		t.Fatalf("exit %d, stdout %q; want the sensor pid %s found beside auditd\nstderr:\n%s", r.code, r.stdout, pid, r.stderr)
	}
	alerts := s.waitAlerts(n+1, 10*time.Second)
	if len(alerts) <= n {
		t.Fatalf("the sensor beside auditd wrote no alert for the self-test; logs:\n%s", s.logText())
	}
	if got := field(alerts[n].doc, "destination.ip"); got != "2001:db8::1" {
		t.Errorf("alert destination.ip %v: %s", got, alerts[n].raw)
	}
	checkNothingLeft(t, r, nil)
}

// TestE2EBlindWindowLossAlert: `auditctl -D -k aptsentinel` while the
// sensor runs raises the tamper alert and, once the repair loop put the
// rules back, a loss alert naming the blind window (count, span, length);
// the stop record totals it.
func TestE2EBlindWindowLossAlert(t *testing.T) {
	requireE2E(t)
	requireAuditctl(t)
	s := startSensor(t, "--rules-dir", t.TempDir())
	removedAt := time.Now()
	auditctl(t, "-D", "-k", "aptsentinel")
	if _, ok := s.waitRuleAlert(rules.TamperRuleID, tamperOf(audit.TamperRulesRemoved), 10*time.Second); !ok {
		t.Fatalf("no tamper alert; logs:\n%s", s.logText())
	}
	blind := func(a alertLine) bool {
		n, _ := field(a.doc, "aptsentinel.losses.blind_windows.count").(float64)
		return n > 0
	}
	a, ok := s.waitRuleAlert(rules.LossRuleID, blind, 10*time.Second)
	if !ok {
		t.Fatalf("no loss alert with a blind window; logs:\n%s", s.logText())
	}
	t.Logf("alert: %s", a.raw)
	from, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(field(a.doc, "aptsentinel.losses.blind_windows.from")))
	to, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(field(a.doc, "aptsentinel.losses.blind_windows.to")))
	secs, _ := field(a.doc, "aptsentinel.losses.blind_windows.seconds").(float64)
	// The window starts at the change (the CONFIG_CHANGE record, ms
	// resolution) or the last check before it, and the repair loop runs
	// about once a second.
	if from.IsZero() || to.Before(from) || from.Before(removedAt.Add(-1100*time.Millisecond)) || to.After(removedAt.Add(3*time.Second)) ||
		secs <= 0 || secs > 2.5 {
		t.Errorf("blind window from %v to %v (%v s), rules removed at %v", from, to, secs, removedAt)
	}
	if what, _ := field(a.doc, "aptsentinel.losses.blind_windows.what").([]any); len(what) != 1 || what[0] != "the sensor's rules removed" {
		t.Errorf("blind window what %v", what)
	}
	msg, _ := field(a.doc, "message").(string)
	if !strings.Contains(msg, "blind windows 1 (") || strings.Contains(msg, "{{") {
		t.Errorf("loss alert message %q", msg)
	}
	s.stop()
	stop := s.logRecord("loss totals at stop")
	if stop == nil {
		t.Fatalf("no stop record; logs:\n%s", s.logText())
	}
	if n := field(stop, "losses.blind_windows.count"); n != 1.0 {
		t.Errorf("stop record blind_windows %v, want 1: %v", field(stop, "losses.blind_windows"), stop)
	}
}
