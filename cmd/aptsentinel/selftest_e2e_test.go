package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// selftestRun is one finished `aptsentinel selftest`.
type selftestRun struct {
	stdout, stderr string
	code           int
	tmp            string // its TMPDIR, where it stages
}

// runSelftest runs the real binary's selftest with a private TMPDIR.
func runSelftest(t *testing.T, args ...string) selftestRun {
	t.Helper()
	cmd, r := selftestCmd(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.code = exitStatus(t, err)
	return r
}

func selftestCmd(t *testing.T, args ...string) (*exec.Cmd, selftestRun) {
	t.Helper()
	r := selftestRun{tmp: t.TempDir()}
	cmd := exec.Command(sensorBin, append([]string{"selftest"}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp)
	return cmd, r
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case asExit(err, &ee):
		return ee.ExitCode()
	default:
		t.Fatal(err)
		return -1
	}
}

// checkNothingLeft asserts that the self-test left nothing behind: no
// staging directory, and (when no sensor of ours is running) no audit rule
// of its key, the audit PID released and the enabled flag as found.
func checkNothingLeft(t *testing.T, r selftestRun, before *audit.Status) {
	t.Helper()
	if left, _ := os.ReadDir(r.tmp); len(left) != 0 {
		t.Errorf("the self-test left %d entries in its TMPDIR, first %s", len(left), left[0].Name())
	}
	if before == nil {
		return
	}
	if n := countRules(t, "aptsentinel"); n != 0 {
		t.Errorf("%d audit rules with key aptsentinel left", n)
	}
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 0 || st.Enabled != before.Enabled {
		t.Errorf("after the self-test: audit pid %d enabled %d, want 0 and %d", st.PID, st.Enabled, before.Enabled)
	}
}

func auditStatus(t *testing.T) *audit.Status {
	t.Helper()
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	return &st
}

var passLine = regexp.MustCompile(`^PASS: alert raised [0-9.]+(ns|µs|ms|s) after connect\(\) \(sensor: (in-process(, reading the audit multicast group beside pid [0-9]+ [^)]+)?|service pid [0-9]+)\)\n$`)

// TestE2ESelftestInProcess: with no sensor running, selftest runs one
// itself, sees its alert, and puts everything back.
func TestE2ESelftestInProcess(t *testing.T) {
	requireE2E(t)
	before := auditStatus(t)
	r := runSelftest(t)
	if r.code != 0 || !passLine.MatchString(r.stdout) || !strings.Contains(r.stdout, "in-process") {
		t.Errorf("exit %d, stdout %q; want exit 0 and a PASS line naming the in-process sensor\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Log(strings.TrimSpace(r.stdout))
	checkNothingLeft(t, r, before)
}

// TestE2ESelftestTimeoutFails: an alert cannot come within 1ns of the
// connect(): a real FAIL, exit 1, and still nothing left behind.
func TestE2ESelftestTimeoutFails(t *testing.T) {
	requireE2E(t)
	before := auditStatus(t)
	r := runSelftest(t, "--timeout", "1ns")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: ") || !strings.Contains(r.stdout, "--timeout 1ns") ||
		strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("exit %d, stdout %q; want exit 1 and one FAIL line naming --timeout 1ns\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	checkNothingLeft(t, r, before)
}

// TestE2ESelftestStdoutSensor: a running sensor that writes to stdout is
// detected; selftest cannot read its alert back and says so, naming the
// pids to look for, and the sensor's output has that very alert.
func TestE2ESelftestStdoutSensor(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	n := s.alertCount()
	r := runSelftest(t)
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: the running sensor (pid "+pid+") writes alerts to stdout") {
		t.Fatalf("exit %d, stdout %q; want exit 1 and a FAIL naming the sensor pid %s and stdout\nstderr:\n%s", r.code, r.stdout, pid, r.stderr)
	}
	m := regexp.MustCompile(`process\.pid ([0-9]+) .*process\.parent\.pid ([0-9]+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the FAIL line names no shell pid: %q", r.stdout)
	}
	alerts := s.waitAlerts(n+1, 10*time.Second)
	if len(alerts) <= n {
		t.Fatalf("the running sensor wrote no alert for the self-test; logs:\n%s", s.logText())
	}
	a := alerts[n]
	shell, _ := strconv.Atoi(m[1])
	apt, _ := strconv.Atoi(m[2])
	checks := map[string]any{
		"process.pid": float64(shell), "process.parent.pid": float64(apt), "process.name": "sh",
		"process.parent.name": "apt", "destination.ip": "2001:db8::1", "destination.port": 9.0,
	}
	for path, want := range checks {
		if got := field(a.doc, path); got != want {
			t.Errorf("alert %s = %v, want %v\n%s", path, got, want, a.raw)
		}
	}
	checkNothingLeft(t, r, nil)
}

// fakeAuditdKey is the audit key of the stand-in daemon's rules.
const fakeAuditdKey = "fakeauditd"

// startFakeAuditd starts a copy of the sensor under another name, with
// rules of its own key: a stand-in for an audit daemon that is neither
// Debian's auditd nor aptsentinel. It holds the audit PID.
func startFakeAuditd(t *testing.T) *exec.Cmd {
	t.Helper()
	impostor := filepath.Join(t.TempDir(), "fake-auditd")
	b, err := os.ReadFile(sensorBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(impostor, b, 0o700); err != nil {
		t.Fatal(err)
	}
	holder := startHolder(t, impostor, "run", "--output", "stdout", "--audit-key", fakeAuditdKey)
	if st := auditStatus(t); int(st.PID) != holder.Process.Pid {
		t.Fatalf("audit pid %d, want the stand-in daemon %d", st.PID, holder.Process.Pid)
	}
	return holder
}

// checkHolderKept asserts that the self-test left the stand-in daemon its
// audit PID and its theirs rules, and left nothing of its own.
func checkHolderKept(t *testing.T, r selftestRun, holder *exec.Cmd, theirs int) {
	t.Helper()
	if n := countRules(t, fakeAuditdKey); n != theirs || n == 0 {
		t.Errorf("the holder's rules: %d after the self-test, were %d", n, theirs)
	}
	if n := countRules(t, "aptsentinel"); n != 0 {
		t.Errorf("%d audit rules with key aptsentinel left", n)
	}
	if st := auditStatus(t); int(st.PID) != holder.Process.Pid {
		t.Errorf("audit pid %d after the self-test, want the holder %d", st.PID, holder.Process.Pid)
	}
	checkNothingLeft(t, r, nil)
}

// TestE2ESelftestOtherAuditDaemon: another program holds the audit PID
// (a stand-in for any audit daemon) and no sensor runs: selftest runs its
// sensor in-process, reading the multicast group beside it, and passes;
// the holder keeps its PID and its rules, and no rule of ours is left.
func TestE2ESelftestOtherAuditDaemon(t *testing.T) {
	requireE2E(t)
	holder := startFakeAuditd(t)
	theirs := countRules(t, fakeAuditdKey)
	r := runSelftest(t)
	want := "(sensor: in-process, reading the audit multicast group beside pid " + strconv.Itoa(holder.Process.Pid) + " fake-auditd)"
	if r.code != 0 || !passLine.MatchString(r.stdout) || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, stdout %q; want exit 0 and a PASS line ending %q\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	t.Log(strings.TrimSpace(r.stdout))
	checkHolderKept(t, r, holder, theirs)
}

// TestE2ESelftestBesideHolderNoCapAuditRead: beside another holder,
// without CAP_AUDIT_READ (dropped from the bounding set) no sensor can
// read anything: one FAIL line naming the capability, nothing staged or
// changed.
func TestE2ESelftestBesideHolderNoCapAuditRead(t *testing.T) {
	requireE2E(t)
	setpriv := testenv.RequireTool(t, "setpriv")
	holder := startFakeAuditd(t)
	theirs := countRules(t, fakeAuditdKey)
	cmd, r := selftestCmd(t)
	cmd.Args = append([]string{"setpriv", "--bounding-set", "-audit_read", "--", sensorBin}, cmd.Args[1:]...)
	cmd.Path = setpriv
	out, err := cmd.Output()
	r.stdout, r.code = string(out), exitStatus(t, err)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: ") || !strings.Contains(r.stdout, "CAP_AUDIT_READ") ||
		!strings.Contains(r.stdout, "nothing was staged") || !strings.Contains(r.stdout, "pid "+strconv.Itoa(holder.Process.Pid)) {
		t.Errorf("exit %d, stdout %q; want exit 1 and one FAIL line naming the holder and CAP_AUDIT_READ", r.code, r.stdout)
	}
	checkHolderKept(t, r, holder, theirs)
}

// startHolder starts a sensor binary writing its logs to stderr and
// waits for its "ready"; it is stopped by SIGTERM (by its pid) at cleanup.
func startHolder(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	startAndStop(t, cmd)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"ready"`) {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s exited before ready", bin)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30s", bin)
	}
	return cmd
}

// startAndStop starts cmd and stops it at cleanup: SIGTERM to its pid, and
// it must exit 0 within 10s.
func startAndStop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bin := cmd.Path
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", bin, err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%s did not stop within 10s of SIGTERM", bin)
		}
	})
}

// TestE2ESelftestInterrupted sends SIGINT as soon as the staging directory
// appears: selftest fails with "interrupted" and removes what it staged. It
// retries when the test won the race and had passed already.
func TestE2ESelftestInterrupted(t *testing.T) {
	requireE2E(t)
	before := auditStatus(t)
	for attempt := 1; attempt <= 5; attempt++ {
		cmd, r := selftestCmd(t)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if entries, _ := os.ReadDir(r.tmp); len(entries) > 0 {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		cmd.Process.Signal(syscall.SIGINT)
		r.code = exitStatus(t, cmd.Wait())
		r.stdout = stdout.String()
		checkNothingLeft(t, r, before)
		if r.code == 0 {
			t.Logf("attempt %d: the self-test had passed before SIGINT", attempt)
			continue
		}
		if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: interrupted") {
			t.Errorf("exit %d, stdout %q; want exit 1 and FAIL: interrupted", r.code, r.stdout)
		}
		return
	}
	t.Error("SIGINT never landed while the self-test ran (5 attempts)")
}

// TestE2ESelftestNotRoot: an unprivileged user gets one FAIL line and exit 1.
func TestE2ESelftestNotRoot(t *testing.T) {
	requireE2E(t)
	cmd := exec.Command(sensorBin, "selftest")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if code := exitStatus(t, err); code != 1 || !strings.HasPrefix(string(out), "FAIL: must run as root") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("as nobody: exit %d, output %q; want exit 1 and one FAIL line about root", code, out)
	}
}

// TestE2ESelftestJournalService: the sensor runs as the unit runs it, its
// output set to journald in its config file; selftest finds it by the audit
// PID, reads its alert back from the journal and passes.
func TestE2ESelftestJournalService(t *testing.T) {
	requireE2E(t)
	if help, _ := exec.Command(sensorBin, "help", "run").Output(); !strings.Contains(string(help), "journald") {
		t.Fatal("`aptsentinel help run` does not offer --output journald")
	}
	j := journaltest.Start(t)
	conf := filepath.Join(t.TempDir(), "aptsentinel.conf")
	if err := os.WriteFile(conf, []byte("output = journald\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// As the unit runs it; in journald mode its logs go to the journal.
	holder := exec.Command(sensorBin, "run", "--config", conf)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	holder.Stderr = stderr
	started := time.Now()
	startAndStop(t, holder)
	pid := strconv.Itoa(holder.Process.Pid)
	if got := j.WaitFor(t, 1, 30*time.Second, "_PID="+pid, journaltest.Since(started), "MESSAGE=ready"); len(got) == 0 {
		b, _ := os.ReadFile(stderr.Name())
		t.Fatalf("no MESSAGE=ready from the sensor (pid %s) in the journal after 30s; stderr:\n%s", pid, b)
	}
	for i := range 2 { // the second run must not take the first run's alert
		r := runSelftest(t)
		want := "(sensor: service pid " + strconv.Itoa(holder.Process.Pid) + ")"
		if r.code != 0 || !passLine.MatchString(r.stdout) || !strings.Contains(r.stdout, want) {
			t.Errorf("run %d: exit %d, stdout %q; want exit 0 and a PASS line naming %s\nstderr:\n%s", i+1, r.code, r.stdout, want, r.stderr)
		}
		t.Log(strings.TrimSpace(r.stdout))
		checkNothingLeft(t, r, nil)
	}
}
