package debtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/ecstest"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
)

const (
	ruleID   = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
	ruleName = "Suspicious APT Package Manager Network Connection"
)

// The update hook of aptUpdateWithHook: its shell forks bash, which
// connects to a public address. "; true" keeps dash from exec'ing bash in
// its own place.
const (
	hookDestIP   = "2001:4860:4860::8888"
	hookDestPort = "53"
	hook         = "bash -c 'exec 3<>/dev/tcp/" + hookDestIP + "/" + hookDestPort + "' 2>/dev/null; true"
)

// aptUpdateWithHook runs the real `apt update` offline in a new network
// namespace, with private lists and cache (an update with an empty source
// list would otherwise wipe the host's lists) and the update hook: in the
// namespace the connect fails at once with ENETUNREACH and no packet
// leaves, but it is audited.
func aptUpdateWithHook(t *testing.T) {
	t.Helper()
	apttest.Update(t, "apt", "-o", apttest.PreInvoke(hook))
}

// auditStatus reads the kernel's audit status.
func auditStatus(t *testing.T) audit.Status {
	t.Helper()
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// requireAuditReleased checks what a sensor must leave when it is gone: no
// rule with its key, no audit PID, the enabled flag as it was before.
func requireAuditReleased(t *testing.T, what string, before audit.Status) {
	t.Helper()
	requireNoAuditRules(t)
	if after := auditStatus(t); after.PID != 0 || after.Enabled != before.Enabled {
		t.Errorf("after %s: audit pid %d enabled %d, want 0 and %d", what, after.PID, after.Enabled, before.Enabled)
	}
}

// resolved returns path with its symbolic links resolved, as the kernel
// reports an executable (/bin/sh is dash, /bin may be /usr/bin).
func resolved(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantFields checks journal fields of entry e.
func wantFields(t *testing.T, what string, e map[string]any, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got := journaltest.Field(e, name); got != v {
			t.Errorf("%s: %s = %q, want %q", what, name, got, v)
		}
	}
}

// checkHookAlert checks the journal entry of the alert for the update hook:
// its structured fields, and MESSAGE being the alert's JSON document that
// agrees with them.
func checkHookAlert(t *testing.T, e map[string]any) {
	t.Helper()
	machineID, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		t.Fatal(err)
	}
	wantFields(t, "alert", e, map[string]string{
		"PRIORITY":                         "4", // warning: severity medium
		"SYSLOG_IDENTIFIER":                "aptsentinel",
		"MESSAGE_ID":                       messageID,
		"APTSENTINEL_KIND":                 "alert",
		"APTSENTINEL_RULE_ID":              ruleID,
		"APTSENTINEL_RULE_NAME":            ruleName,
		"APTSENTINEL_SEVERITY":             "medium",
		"APTSENTINEL_HOST_ID":              strings.TrimSpace(string(machineID)),
		"APTSENTINEL_PROCESS_NAME":         "sh",
		"APTSENTINEL_PROCESS_EXECUTABLE":   resolved(t, "/bin/sh"),
		"APTSENTINEL_PROCESS_COMMAND_LINE": "sh -c " + hook,
		"APTSENTINEL_PROCESS_PARENT_NAME":  "apt",
		"APTSENTINEL_CHILD_EXECUTABLE":     resolved(t, "/bin/bash"),
		"APTSENTINEL_DESTINATION_IP":       hookDestIP,
		"APTSENTINEL_DESTINATION_PORT":     hookDestPort,
		"APTSENTINEL_NETWORK_TYPE":         "ipv6",
	})
	raw := journaltest.Field(e, "MESSAGE")
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("MESSAGE is not the alert's JSON document: %v: %q", err, raw)
	}
	want := map[string]any{
		"event.kind":          "alert",
		"rule.id":             ruleID,
		"rule.name":           ruleName,
		"process.name":        "sh",
		"process.parent.name": "apt",
		"destination.ip":      hookDestIP,
	}
	for path, v := range want {
		if got := ecstest.Field(doc, path); got != v {
			t.Errorf("alert MESSAGE: %s = %v, want %v", path, got, v)
		}
	}
	for path, name := range map[string]string{
		"process.pid":        "APTSENTINEL_PROCESS_PID",
		"process.parent.pid": "APTSENTINEL_PROCESS_PARENT_PID",
		"process.entity_id":  "APTSENTINEL_PROCESS_ENTITY_ID",
		"destination.port":   "APTSENTINEL_DESTINATION_PORT",
	} {
		if got, field := fmt.Sprint(ecstest.Field(doc, path)), journaltest.Field(e, name); got != field {
			t.Errorf("alert MESSAGE %s = %s but %s = %s", path, got, name, field)
		}
	}
	if events, _ := doc["events"].([]any); len(events) != 2 {
		t.Errorf("alert MESSAGE has %d matched events, want 2 (the shell's exec, its child's connect)", len(events))
	}
}

// passLine is selftest's verdict on success.
var passLine = regexp.MustCompile(`^PASS: alert raised [0-9.]+(ns|µs|ms|s) after connect\(\) \(sensor: (in-process|service pid [0-9]+)\)\n$`)

// runInstalledSelftest runs `/usr/sbin/aptsentinel selftest` as an admin
// would and requires a PASS naming sensor ("in-process" or "service pid
// N"), and that it removed the directory it staged.
func runInstalledSelftest(t *testing.T, sensor string) {
	t.Helper()
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/sbin/aptsentinel", "selftest")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr proctest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	out := stdout.String()
	if err != nil || !passLine.MatchString(out) || !strings.Contains(out, "(sensor: "+sensor+")") {
		t.Errorf("selftest: %v, stdout %q; want exit 0 and a PASS line naming %s\nstderr:\n%s", err, out, sensor, stderr.String())
	}
	t.Logf("selftest: %s", strings.TrimSpace(out))
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("selftest left %s in its TMPDIR", left[0].Name())
	}
}

// TestInstalledSensorDetects installs the package, runs the installed
// sensor exactly as the unit does (ExecStart with the shipped config,
// capability bounding set, no_new_privs) beside a real journald, and checks
// that a real apt hook that connects out raises the alert in the journal;
// that the installed selftest passes against that sensor and, once it is
// stopped, with its own in-process sensor; and that SIGTERM leaves no
// audit rule, no audit PID and the enabled flag as it was.
func TestInstalledSensorDetects(t *testing.T) {
	install(t, debNew)
	j := journaltest.Start(t)
	before := auditStatus(t)
	s := startAsUnit(t, j, "")
	s.waitReady(t)
	// The shipped config leaves --output at auto: with journald running,
	// the logs are journal entries of their own kind.
	wantFields(t, "ready record", s.readyRecords(t)[0], map[string]string{
		"SYSLOG_IDENTIFIER": "aptsentinel", "APTSENTINEL_KIND": "log", "PRIORITY": "6", "MESSAGE_ID": "",
	})

	aptUpdateWithHook(t)
	got := s.alerts(t, 1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("found %d alerts from sensor pid %s in the journal, want 1\n%s", len(got), s.pid, s.logs(t))
	}
	checkHookAlert(t, got[0])

	runInstalledSelftest(t, "service pid "+s.pid)
	if got := s.alerts(t, 2, 5*time.Second); len(got) != 2 {
		t.Errorf("after the selftest the journal holds %d alerts from sensor pid %s, want 2", len(got), s.pid)
	}

	s.stop(t)
	requireAuditReleased(t, "SIGTERM", before)
	if out := s.stdout.String(); out != "" {
		t.Errorf("with journald running, --output auto still wrote to stdout: %q", out)
	}
	if err := s.stderr.String(); strings.Contains(err, `"msg":"ready"`) {
		t.Errorf("with journald running, the sensor logged to stderr too:\n%s", err)
	}

	runInstalledSelftest(t, "in-process")
	requireAuditReleased(t, "the in-process selftest", before)
}

// TestInstalledSensorNeedsAuditControl drops CAP_AUDIT_CONTROL from the
// unit's bounding set: the sensor must refuse to start and say why, which
// shows the capability is in the set for a reason.
func TestInstalledSensorNeedsAuditControl(t *testing.T) {
	install(t, debNew)
	j := journaltest.Start(t)
	before := auditStatus(t)
	s := startAsUnit(t, j, "audit_control")
	if !s.exited(30 * time.Second) {
		t.Fatalf("sensor still running 30s after a start without CAP_AUDIT_CONTROL\n%s", s.logs(t))
	}
	if len(s.readyRecords(t)) > 0 {
		t.Errorf("sensor said ready without CAP_AUDIT_CONTROL")
	}
	var exitErr *exec.ExitError
	if !errors.As(s.err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("exit %v, want exit status 1 (failed)", s.err)
	}
	// The fatal error is an error record in the journal (PRIORITY=3, the
	// cause in APTSENTINEL_ERR) and, in case the journal is what failed, a
	// line on stderr (which systemd also puts in the journal).
	named := strings.Contains(s.stderr.String(), "CAP_AUDIT_CONTROL")
	for _, e := range j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "SYSLOG_IDENTIFIER=aptsentinel", "PRIORITY=3") {
		named = named || strings.Contains(journaltest.Field(e, "MESSAGE")+journaltest.Field(e, "APTSENTINEL_ERR"), "CAP_AUDIT_CONTROL")
	}
	if !named {
		t.Errorf("neither an error record in the journal nor stderr names CAP_AUDIT_CONTROL:\n%s", s.logs(t))
	}
	requireAuditReleased(t, "a refused start", before)
}
