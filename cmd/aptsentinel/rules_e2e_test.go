package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2ERulesException: an exception in rules.d silences a real hook's
// alert, while another hook in the same sensor still alerts.
func TestE2ERulesException(t *testing.T) {
	requireE2E(t)
	dir := t.TempDir()
	exc := `# our mirror-sync hook is fine
[[exception]]
rule_id = "` + ruleID + `"
step = 1
reason = "site mirror sync"
condition = '''process.args : "*aptsentinel-mirror-sync*"'''
`
	if err := os.WriteFile(filepath.Join(dir, "site.toml"), []byte(exc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, "--rules-dir", dir)
	aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", 80)+"; : aptsentinel-mirror-sync"))
	// The barrier: the same hook without the marker alerts, and the audit
	// stream is ordered, so the excepted hook was judged before it.
	aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", 81)))
	s.waitAlerts(1, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	alerts := s.waitAlerts(1, 0)
	if len(alerts) != 1 {
		for _, a := range alerts {
			t.Logf("alert: %s", a.raw)
		}
		t.Fatalf("got %d alerts, want only the barrier's; logs:\n%s", len(alerts), s.logText())
	}
	if p := field(alerts[0].doc, "destination.port"); p != 81.0 {
		t.Errorf("the alert is for port %v, want the barrier's 81: the exception did not silence the hook", p)
	}
	if !strings.Contains(s.logText(), `"exceptions":1`) {
		t.Errorf("the start log does not show the exception loaded:\n%s", s.logText())
	}
}

// TestE2ERulesCheckBroken: `rules check` names FILE:LINE:COL of an error
// inside the query string and exits 1; a good file exits 0.
func TestE2ERulesCheckBroken(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	body := "[rule]\nrule_id = \"00000000-0000-4000-8000-000000000001\"\nname = \"broken\"\nquery = '''\nsequence by host.id with maxspan=5s\n  [process where process.name = \"sh\"]\n  [network where true]\n'''\n"
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sensorBin, "rules", "check", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("rules check of a broken file: %v, want exit 1", err)
	}
	want := bad + ":6:31: single = is not a comparison"
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q, want it to start with %q", stderr.String(), want)
	}
	if out, err := exec.Command(sensorBin, "rules", "check", "../../rules/shipped/apt_hook_shell_network_connection.toml").CombinedOutput(); err != nil {
		t.Errorf("rules check of the shipped file: %v\n%s", err, out)
	}
	out, err := exec.Command(sensorBin, "rules", "list", "--rules-dir", t.TempDir()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ruleID) || !strings.Contains(string(out), "builtin") {
		t.Errorf("rules list: %v\n%s", err, out)
	}
}

// TestE2ESighupNewRule: a rule file added to rules.d fires after SIGHUP,
// without a restart; a broken file then leaves the running set.
func TestE2ESighupNewRule(t *testing.T) {
	requireE2E(t)
	dir := t.TempDir()
	s := startSensor(t, "--rules-dir", dir)
	const id = "00000000-0000-4000-8000-00000000beef"
	marker := fmt.Sprintf("aptsentinel-sighup-%d", os.Getpid())
	rule := `[rule]
rule_id = "` + id + `"
name = "Test: marker exec"
severity = "low"
risk_score = 1
query = 'process where event.action == "exec" and process.args == "` + marker + `"'
`
	run := func() {
		if out, err := exec.Command("sh", "-c", "true", marker).CombinedOutput(); err != nil {
			t.Fatalf("marker exec: %v: %s", err, out)
		}
	}
	run()
	time.Sleep(500 * time.Millisecond)
	if n := s.alertCount(); n != 0 {
		t.Fatalf("%d alerts before the rule exists", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "marker.toml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "rules reloaded", 5*time.Second)
	run()
	alerts := s.waitAlerts(1, 5*time.Second)
	if len(alerts) != 1 || field(alerts[0].doc, "rule.id") != id {
		t.Fatalf("after SIGHUP: %d alerts (%v), want one of rule %s; logs:\n%s", len(alerts), alerts, id, s.logText())
	}

	// A broken file: the reload is refused, the running set stays.
	if err := os.WriteFile(filepath.Join(dir, "zz-broken.toml"), []byte("[rule]\nrule_id = \"x\"\nname = \"x\"\nquery = 'process where ('\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "rules not reloaded: keeping the running set", 5*time.Second)
	if !strings.Contains(s.logText(), "zz-broken.toml:4:") {
		t.Errorf("the refusal does not name the file and line:\n%s", s.logText())
	}
	run()
	if alerts := s.waitAlerts(2, 5*time.Second); len(alerts) != 2 {
		t.Fatalf("after a refused reload: %d alerts, want 2 (the rule still runs)", len(alerts))
	}
}
