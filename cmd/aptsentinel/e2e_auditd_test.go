package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
	"github.com/aptsentinel/aptsentinel/rules"
)

// These tests run Debian's auditd (package auditd) beside the sensor, as a
// host with a compliance baseline does. auditd runs without systemd, in the
// foreground (-n), with a private configuration directory (-c) whose only
// change is where it writes its log; the tests stop it and put the audit
// state back.

const auditdBin = "/sbin/auditd"

// adminKey tags the rules the tests load as "the admin's".
const adminKey = "apsadmin"

// adminRules are an admin's rules file as auditctl -R reads it: it starts
// with -D, as augenrules' output does. The never rule is conditional (uid
// 4242 only): it hides part of the connects, which the sensor reports.
var adminRules = []string{
	"-D",
	"-a always,exit -F arch=b64 -S unlinkat -F auid=4242 -k " + adminKey,
	"-a never,exit -F arch=b64 -S connect -F uid=4242 -k " + adminKey,
	"-a always,exit -F arch=b64 -S fchmodat -k " + adminKey,
}

func requireAuditd(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{auditdBin, "auditctl", "augenrules"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	testenv.Require(t, "Debian's auditd package", fmt.Errorf("missing %s", strings.Join(missing, ", ")))
}

// restoreAuditState puts back at cleanup what auditd and its rules
// change: the admin's rules (by key), the enabled flag, backlog limit and
// wait time, the failure flag. Call it before starting anything, so that
// it runs last.
func restoreAuditState(t *testing.T) {
	t.Helper()
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := audit.DeleteRulesByKey(adminKey); err != nil {
			t.Errorf("removing the admin test rules: %v", err)
		}
		if err := audit.RestoreSettings(before); err != nil {
			t.Errorf("restoring audit settings: %v", err)
		}
		if out, err := exec.Command("auditctl", "-f", strconv.Itoa(int(before.Failure))).CombinedOutput(); err != nil {
			t.Errorf("restoring the failure flag: %v %s", err, out)
		}
	})
}

// auditdProc is a running `auditd -n -c DIR`.
type auditdProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string // its audit.log
	done chan struct{}
	out  strings.Builder
}

// startAuditd starts auditd and waits until it holds the audit PID: the
// proof that it started normally (it exits at once when it cannot get it).
func startAuditd(t *testing.T) *auditdProc {
	t.Helper()
	dir := t.TempDir()
	conf, err := os.ReadFile("/etc/audit/auditd.conf")
	if err != nil {
		t.Fatal(err)
	}
	a := &auditdProc{t: t, log: filepath.Join(dir, "audit.log"), done: make(chan struct{})}
	re := regexp.MustCompile(`(?m)^log_file\s*=.*$`)
	conf = re.ReplaceAll(conf, []byte("log_file = "+a.log))
	// No rotation under the test: it reads the whole log back.
	conf = regexp.MustCompile(`(?m)^max_log_file_action\s*=.*$`).ReplaceAll(conf, []byte("max_log_file_action = IGNORE"))
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), conf, 0o640); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(auditdBin, "-n", "-c", dir)
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(a.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := audit.GetStatus()
		if err == nil && int(st.PID) == a.cmd.Process.Pid {
			return a
		}
		select {
		case <-a.done:
			t.Fatalf("auditd exited: %v\n%s", a.cmd.ProcessState, a.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("auditd (pid %d) does not hold the audit PID after 10s (holder %d)\n%s", a.cmd.Process.Pid, st.PID, a.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *auditdProc) alive() bool {
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

func (a *auditdProc) stop() {
	if !proctest.Stop(a.cmd.Process, a.done, 10*time.Second) {
		a.t.Errorf("auditd did not stop within 10s of SIGTERM")
	}
}

// auditdWithAdminRules starts auditd (the audit state put back at
// cleanup) and loads the admin's rules; it returns auditd, the rules then
// loaded and the audit status.
func auditdWithAdminRules(t *testing.T) (*auditdProc, []string, audit.Status) {
	t.Helper()
	requireE2E(t)
	requireAuditd(t)
	restoreAuditState(t)
	a := startAuditd(t)
	loadAdminRules(t)
	return a, ruleTexts(t, false), *auditStatus(t)
}

// loadAdminRules loads adminRules with auditctl -R, as an admin's reload
// does (it deletes every rule first).
func loadAdminRules(t *testing.T) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "admin.rules")
	if err := os.WriteFile(f, []byte(strings.Join(adminRules, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("auditctl", "-R", f).CombinedOutput(); err != nil {
		t.Fatalf("auditctl -R: %v\n%s", err, out)
	}
}

// ruleTexts lists the loaded rules; without our key when others is true.
func ruleTexts(t *testing.T, others bool) []string {
	t.Helper()
	rules, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		if others && r.Key() == "aptsentinel" {
			continue
		}
		out = append(out, audit.RuleText(r))
	}
	return out
}

// waitFor polls cond every 20ms until it holds or timeout passes; it
// returns how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func auditPID(t *testing.T) int {
	t.Helper()
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	return int(st.PID)
}

// logRecord finds the sensor's first log record with msg containing sub.
func (s *sensorProc) logRecord(sub string) map[string]any { return s.logRecordFrom(0, sub) }

// logCount is how many log records the sensor wrote so far.
func (s *sensorProc) logCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs)
}

// logRecordFrom is logRecord among the records from index from on.
func (s *sensorProc) logRecordFrom(from int, sub string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs[min(from, len(s.logs)):] {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			if msg, _ := m["msg"].(string); strings.Contains(msg, sub) {
				return m
			}
		}
	}
	return nil
}

func (s *sensorProc) waitLog(t *testing.T, sub string, timeout time.Duration) map[string]any {
	t.Helper()
	return s.waitLogFrom(t, 0, sub, timeout)
}

// waitLogFrom waits for a log record from index from on.
func (s *sensorProc) waitLogFrom(t *testing.T, from int, sub string, timeout time.Duration) map[string]any {
	t.Helper()
	var m map[string]any
	deadline := time.Now().Add(timeout)
	for m = s.logRecordFrom(from, sub); m == nil; m = s.logRecordFrom(from, sub) {
		if time.Now().After(deadline) {
			t.Fatalf("no log record %q within %v; logs:\n%s", sub, timeout, s.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m
}

// hookAlerts runs apt with a connecting hook and expects one more alert.
func hookAlerts(t *testing.T, s *sensorProc, state string, port int) {
	t.Helper()
	before := s.alertCount()
	aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", port)))
	if got := s.waitAlerts(before+1, 5*time.Second); len(got) != before+1 {
		t.Fatalf("%s: apt hook raised %d alerts, want 1; logs:\n%s", state, len(got)-before, s.logText())
	}
}

// ourRulesLast checks the sensor's rules come after every other rule.
func ourRulesLast(t *testing.T) {
	t.Helper()
	rules, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	seenOurs := false
	for _, r := range rules {
		if r.Key() == "aptsentinel" {
			seenOurs = true
		} else if seenOurs {
			t.Errorf("rule %q comes after the sensor's: beside auditd they must come last", audit.RuleText(r))
		}
	}
}

// TestE2EAuditdStartsAndStopsUnderSensor: the sensor holds the audit PID;
// auditd starts (and must start normally), the admin reloads rules, auditd
// stops, an admin adds a never rule. A real apt hook alerts in each state.
func TestE2EAuditdStartsAndStopsUnderSensor(t *testing.T) {
	requireE2E(t)
	requireAuditd(t)
	restoreAuditState(t)
	s := startSensor(t)
	if auditPID(t) != s.cmd.Process.Pid {
		t.Fatal("the sensor does not hold the audit PID")
	}

	a := startAuditd(t)
	h := s.waitLog(t, "audit PID handed over", 5*time.Second)
	reg := s.waitLog(t, "audit PID registered", 5*time.Second)
	execAt, _ := time.Parse(time.RFC3339Nano, h["exec_time"].(string))
	setAt, _ := time.Parse(time.RFC3339Nano, reg["record_time"].(string))
	took, _ := time.ParseDuration(h["handover_took"].(string))
	t.Logf("auditd exec -> its set-pid: %v (record time, ms resolution); the handover took %v", setAt.Sub(execAt), took)
	if int(reg["audit_pid"].(float64)) != a.cmd.Process.Pid {
		t.Errorf("audit PID registered %v, want auditd's %d", reg["audit_pid"], a.cmd.Process.Pid)
	}
	time.Sleep(500 * time.Millisecond)
	if !a.alive() || auditPID(t) != a.cmd.Process.Pid {
		t.Fatalf("auditd did not keep running with the audit PID:\n%s", a.out.String())
	}
	hookAlerts(t, s, "after auditd started", 1001)

	// The admin's reload deletes every rule, the sensor's too.
	mark := s.logCount()
	ours := countRules(t, "aptsentinel")
	loadAdminRules(t)
	back := waitFor(t, 2*time.Second, "the sensor's rules back after auditctl -R", func() bool { return countRules(t, "aptsentinel") == ours })
	t.Logf("sensor rules back %v after the reload", back)
	tm := s.waitLogFrom(t, mark, "tampered with", 3*time.Second)
	if tm["kind"] != "rules_removed" || tm["comm"] != "auditctl" || tm["exe"] != "/usr/sbin/auditctl" {
		t.Errorf("tamper record does not name the reload: %v", tm)
	}
	ourRulesLast(t)
	hookAlerts(t, s, "after the admin's reload", 1002)

	// auditd stops: the sensor takes the PID back.
	a.stop()
	waitFor(t, 3*time.Second, "the sensor holding the audit PID again", func() bool { return auditPID(t) == s.cmd.Process.Pid })
	hookAlerts(t, s, "after auditd stopped", 1003)

	// A never rule put ahead of the sensor's hides connect: reported, and
	// the sensor (holding the PID) puts its rules ahead of it.
	mark = s.logCount()
	if out, err := exec.Command("auditctl", "-A", "exit,never", "-F", "arch=b64", "-S", "connect", "-k", adminKey).CombinedOutput(); err != nil {
		t.Fatalf("auditctl -A: %v %s", err, out)
	}
	sh := s.waitLogFrom(t, mark, "hides", 3*time.Second)
	s.waitLogFrom(t, mark, "recorded again", 3*time.Second)
	if sh["kind"] != "shadowing_rule" || sh["comm"] != "auditctl" {
		t.Errorf("shadowing tamper record: %v", sh)
	}
	hookAlerts(t, s, "after a never rule was prepended", 1004)

	admin := ruleTexts(t, true)
	s.stop()
	if after := ruleTexts(t, false); !slices.Equal(after, admin) {
		t.Errorf("rules after the sensor stopped:\n%s\nwant the admin's:\n%s", strings.Join(after, "\n"), strings.Join(admin, "\n"))
	}
}

// TestE2ESensorStartsBesideAuditd: auditd runs with the admin's rules;
// the sensor reads the multicast group, appends its rules, leaves auditd
// its PID and rules; `augenrules --load` while it runs; after it stops
// exactly auditd's rules are left.
func TestE2ESensorStartsBesideAuditd(t *testing.T) {
	a, admin, st0 := auditdWithAdminRules(t)

	s := startSensor(t)
	if s.logRecord("reading the audit multicast group") == nil {
		t.Errorf("no log record of multicast mode; logs:\n%s", s.logText())
	}
	if cov := s.logRecord("does not see a syscall"); cov == nil || cov["syscall"] != "b64 connect" || cov["verdict"] != "partly-shadowed" {
		t.Errorf("the partly shadowing never rule is not reported: %v", cov)
	}
	st, _ := audit.GetStatus()
	if int(st.PID) != a.cmd.Process.Pid || st.BacklogLimit != st0.BacklogLimit || st.BacklogWaitTime != st0.BacklogWaitTime || st.Failure != st0.Failure {
		t.Errorf("auditd's settings changed: before %+v, now %+v", st0, st)
	}
	if got := ruleTexts(t, true); !slices.Equal(got, admin) {
		t.Errorf("auditd's rules changed:\n%s", strings.Join(got, "\n"))
	}
	ourRulesLast(t)

	// A second sensor beside auditd would fight the first over the rules.
	ours := countRules(t, "aptsentinel")
	second, err := exec.Command(sensorBin, "run", "--output", "stdout").CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(second), "another aptsentinel (pid "+strconv.Itoa(s.cmd.Process.Pid)+")") {
		t.Errorf("second sensor beside auditd: %v\n%s", err, second)
	}
	if n := countRules(t, "aptsentinel"); n != ours {
		t.Errorf("the refused sensor changed the rules: %d with our key", n)
	}

	out, err := exec.Command(sensorBin, "status", "--json").Output()
	if err != nil {
		t.Fatalf("status --json: %v", err)
	}
	var rep statusReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Sensor.Mode != "multicast" || rep.Sensor.PID != s.cmd.Process.Pid {
		t.Errorf("status --json: sensor %+v, want pid %d in multicast mode", rep.Sensor, s.cmd.Process.Pid)
	}
	if rep.AuditPID.PID != uint32(a.cmd.Process.Pid) || rep.SensorRules != ours || len(rep.CannotSee) != 1 {
		t.Errorf("status --json: audit pid %+v, %d sensor rules, cannot see %q", rep.AuditPID, rep.SensorRules, rep.CannotSee)
	}
	if c := rep.Sensor.Coexist; c == nil || c.Multicast.DropsUnknown {
		t.Errorf("status --json: no multicast socket drop count: %+v", c)
	}
	text, err := exec.Command(sensorBin, "status").Output()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if !regexp.MustCompile(`audit sockets found full by the kernel: data socket \d+ times \(retried by the kernel\), multicast socket \d+ records`).Match(text) {
		t.Errorf("status: no line of socket drops:\n%s", text)
	}
	hookAlerts(t, s, "beside auditd", 1011)

	measureAuditLog(t, a)

	// augenrules --load starts with -D: the sensor's rules go and come back.
	if out, err := exec.Command("augenrules", "--load").CombinedOutput(); err != nil {
		t.Fatalf("augenrules --load: %v %s", err, out)
	}
	waitFor(t, 2*time.Second, "the sensor's rules back after augenrules --load", func() bool { return countRules(t, "aptsentinel") == ours })
	// The time without them is a loss: the loss alert names the window.
	if a, ok := s.waitRuleAlert(rules.LossRuleID, func(a alertLine) bool {
		return field(a.doc, "aptsentinel.losses.blind_windows.count") == 1.0
	}, 5*time.Second); !ok {
		t.Errorf("no loss alert naming the blind window of augenrules --load; logs:\n%s", s.logText())
	} else {
		t.Logf("blind window of augenrules --load: %v", field(a.doc, "aptsentinel.losses.blind_windows"))
	}
	hookAlerts(t, s, "after augenrules --load", 1012)

	left := ruleTexts(t, true)
	s.stop()
	if after := ruleTexts(t, false); !slices.Equal(after, left) {
		t.Errorf("auditctl -l after the sensor stopped:\n%s\nwant auditd's:\n%s", strings.Join(after, "\n"), strings.Join(left, "\n"))
	}
	if !a.alive() || auditPID(t) != a.cmd.Process.Pid {
		t.Errorf("auditd lost its PID or died when the sensor stopped")
	}
}

// measureAuditLog measures what the sensor's rules add to auditd's log:
// the mean bytes of the records of one exec of /bin/true and of one
// connect to 127.0.0.1:9, read back from the log by serial (other
// programs on the host add records of their own at the same time).
func measureAuditLog(t *testing.T, a *auditdProc) {
	t.Helper()
	script := "for i in $(seq 100); do /bin/true; done; for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; done; true"
	if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("load: %v %s", err, out)
	}
	var execs, conns []int
	waitFor(t, 10*time.Second, "auditd writing the records", func() bool {
		execs, conns = eventBytes(t, a.log)
		return len(execs) >= 100 && len(conns) >= 100
	})
	mean := func(v []int) int {
		n := 0
		for _, x := range v {
			n += x
		}
		return n / len(v)
	}
	t.Logf("auditd's log (log_format ENRICHED): %d bytes per exec (%d events), %d bytes per connect (%d events) from the sensor's rules",
		mean(execs), len(execs), mean(conns), len(conns))
	if mean(execs) < 300 || mean(conns) < 200 {
		t.Errorf("auditd's log does not carry whole events: %d bytes/exec, %d bytes/connect", mean(execs), mean(conns))
	}
}

var serialRe = regexp.MustCompile(`msg=audit\(\d+\.\d+:(\d+)\)`)

// eventBytes sums the log lines of each event (serial) and returns the
// sizes of the exec events of /usr/bin/true and of the connect events to
// 127.0.0.1:9, both recorded under the sensor's key.
func eventBytes(t *testing.T, path string) (execs, conns []int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	size := map[string]int{}
	isExec, isConn, ours := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		m := serialRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n := m[1]
		size[n] += len(line) + 1
		switch {
		case strings.HasPrefix(line, "type=SYSCALL"):
			ours[n] = strings.Contains(line, `key="aptsentinel"`)
			isExec[n] = strings.Contains(line, " syscall=59 ") && strings.Contains(line, `exe="/usr/bin/true"`)
		case strings.HasPrefix(line, "type=SOCKADDR") && strings.Contains(line, "saddr=020000097F000001"):
			isConn[n] = true
		}
	}
	for n, sz := range size {
		switch {
		case ours[n] && isExec[n]:
			execs = append(execs, sz)
		case ours[n] && isConn[n]:
			conns = append(conns, sz)
		}
	}
	return execs, conns
}

// TestE2ESelftestBesideAuditdNoSensor: Debian's auditd runs with the
// admin's rules and no sensor runs: selftest runs its sensor in-process
// beside auditd (multicast group, its rules after auditd's), passes, and
// leaves auditd its PID, settings and exactly its rules.
func TestE2ESelftestBesideAuditdNoSensor(t *testing.T) {
	a, admin, st0 := auditdWithAdminRules(t)

	r := runSelftest(t, "--verbose")
	want := "(sensor: in-process, reading the audit multicast group beside pid " + strconv.Itoa(a.cmd.Process.Pid) + " auditd)"
	if r.code != 0 || !passLine.MatchString(r.stdout) || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, stdout %q; want exit 0 and a PASS line ending %q\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	t.Log(strings.TrimSpace(r.stdout))
	if !strings.Contains(r.stderr, `"mode":"multicast"`) {
		t.Errorf("the in-process sensor did not log multicast mode; stderr:\n%s", r.stderr)
	}
	st := auditStatus(t)
	if !a.alive() || int(st.PID) != a.cmd.Process.Pid || st.BacklogLimit != st0.BacklogLimit ||
		st.BacklogWaitTime != st0.BacklogWaitTime || st.Failure != st0.Failure || st.Enabled != st0.Enabled {
		t.Errorf("auditd's state changed: before %+v, now %+v (auditd alive %v)", st0, *st, a.alive())
	}
	if after := ruleTexts(t, false); !slices.Equal(after, admin) {
		t.Errorf("auditctl -l after the self-test:\n%s\nwant exactly auditd's:\n%s", strings.Join(after, "\n"), strings.Join(admin, "\n"))
	}
	checkNothingLeft(t, r, nil)
}
