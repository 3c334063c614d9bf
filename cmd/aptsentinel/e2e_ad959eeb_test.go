package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
)

// Rule ad959eeb end to end: real apt runs real hooks whose shell starts an
// interpreter or a network tool. Each hook carries a tag (": TAG" at its
// end, which also keeps dash from exec'ing the last command in the shell's
// place), and an alert belongs to a case when its hook shell's command
// line holds the tag.

const aptNetconRuleID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing (.ci/install-deps installs it): %v", tool, err)
		}
	}
}

// newTag returns a marker unique to this run and case.
func newTag(what string) string {
	return fmt.Sprintf("aptsentinel-%s-%d", what, time.Now().UnixNano()%1e9)
}

// tagged returns the alerts of rule id whose hook shell's command line
// holds tag.
func (s *sensorProc) tagged(id, tag string) []alertLine {
	var out []alertLine
	for _, a := range s.ruleAlerts(id) {
		if cl, _ := field(a.doc, "process.command_line").(string); strings.Contains(cl, tag) {
			out = append(out, a)
		}
	}
	return out
}

// waitTagged waits up to timeout for an alert of rule id for tag.
func (s *sensorProc) waitTagged(id, tag string, timeout time.Duration) (alertLine, bool) {
	return s.waitRuleAlert(id, func(a alertLine) bool {
		cl, _ := field(a.doc, "process.command_line").(string)
		return strings.Contains(cl, tag)
	}, timeout)
}

// lastEvent returns the alert's last matched event.
func lastEvent(t *testing.T, a alertLine) map[string]any {
	t.Helper()
	evs, _ := a.doc["events"].([]any)
	if len(evs) == 0 {
		t.Fatalf("alert lists no events: %s", a.raw)
	}
	return evs[len(evs)-1].(map[string]any)
}

// TestE2EAptExecHooks: hooks given with -o and in a hook file in
// /etc/apt/apt.conf.d to a real `apt update` (a forked apt runs them
// through system()) and with -o to a real `apt install`
// (DPkg::Pre-Install-Pkgs: apt execs /bin/sh itself) whose shell starts
// python3, perl, nc, openssl or awk raise one ad959eeb alert each, naming
// the hook shell, apt as its parent and the child.
func TestE2EAptExecHooks(t *testing.T) {
	requireE2E(t)
	requireTools(t, "python3", "perl", "nc", "openssl", "awk")
	s := startSensor(t)
	cases := []struct{ child, cmd string }{
		{"python3", "/usr/bin/python3 -c 'import sys'"},
		{"perl", "perl -e 1"},
		{"nc", "nc -z 1.1.1.1 7302"},
		{"openssl", "openssl version"},
		{"awk", "awk 'BEGIN{}'"},
	}
	for _, c := range cases {
		t.Run(c.child, func(t *testing.T) {
			tag := newTag(c.child)
			aptRun(t, "apt", "-o", preInvoke(c.cmd+"; : "+tag))
			checkExecAlert(t, s, tag, c.child)
		})
	}
	// The same five as one hook file: apt runs each line in its own shell.
	t.Run("file", func(t *testing.T) {
		path := "/etc/apt/apt.conf.d/99" + newTag("exec-file")
		removeAtCleanup(t, path)
		var conf strings.Builder
		var tags []string
		conf.WriteString("APT::Update::Pre-Invoke {\n")
		for _, c := range cases {
			tag := newTag("file-" + c.child)
			tags = append(tags, tag)
			fmt.Fprintf(&conf, "  \"%s; : %s\";\n", c.cmd, tag)
		}
		conf.WriteString("};\n")
		must(t, os.WriteFile(path, []byte(conf.String()), 0o644))
		aptRun(t, "apt")
		must(t, os.Remove(path))
		for i, c := range cases {
			checkExecAlert(t, s, tags[i], c.child)
		}
	})
	t.Run("Pre-Install-Pkgs", func(t *testing.T) {
		tag := newTag("preinstall")
		apttest.InstallLocal(t, apttest.BuildDummy(t), "-o", "DPkg::Pre-Install-Pkgs::=/usr/bin/python3 -c 'import sys'; : "+tag)
		apttest.PurgeDummy(t)
		checkExecAlert(t, s, tag, "python3")
	})
}

// checkExecAlert waits for the one ad959eeb alert of tag and checks what
// it names.
func checkExecAlert(t *testing.T, s *sensorProc, tag, child string) {
	t.Helper()
	a, ok := s.waitTagged(aptExecRuleID, tag, 5*time.Second)
	if !ok {
		t.Fatalf("no %s alert for the hook %s; logs:\n%s", aptExecRuleID, tag, s.logText())
	}
	time.Sleep(200 * time.Millisecond) // room for a second, wrong one
	if n := len(s.tagged(aptExecRuleID, tag)); n != 1 {
		t.Errorf("%d alerts for one hook shell, want 1", n)
	}
	last := lastEvent(t, a)
	if field(a.doc, "process.name") != "sh" || field(a.doc, "process.parent.name") != "apt" ||
		field(last, "process.name") != child || field(last, "process.parent.entity_id") != field(a.doc, "process.entity_id") {
		t.Errorf("alert does not name shell sh, parent apt and its child %s: %s", child, a.raw)
	}
	msg, _ := field(a.doc, "message").(string)
	if !strings.HasPrefix(msg, "Suspicious APT Package Manager Execution: sh (pid ") || !strings.Contains(msg, " started "+child+" (pid ") {
		t.Errorf("message %q", msg)
	}
	t.Logf("alert: %s", msg)
}

// TestE2EAptExecQuiet: what ad959eeb must not raise, each with real apt and
// a hook that really ran (it touches a file): a guarded hook `if [ -x …
// ]; then …; fi` (upstream's parent command line exclusion), a child with
// needrestart's hook path among its arguments (the args exclusion), the
// debconf hook's exact command line (the command line exclusion) and the
// same python3 hook under apt-get (the rule names apt only). A control
// hook under apt then alerts, so the sensor saw the silent ones.
func TestE2EAptExecQuiet(t *testing.T) {
	requireE2E(t)
	requireTools(t, "python3", "perl")
	if _, err := os.Stat("/usr/sbin/dpkg-preconfigure"); err != nil {
		t.Fatalf("debconf's dpkg-preconfigure missing: %v", err)
	}
	s := startSensor(t)
	dir := t.TempDir()
	cases := []struct{ name, tool, cmd string }{
		{"guarded", "apt", "if [ -x /usr/bin/python3 ]; then /usr/bin/python3 -c 'import sys' && touch %s; fi"},
		{"args", "apt", "/usr/bin/python3 -c 'import sys' /usr/lib/needrestart/apt-pinvoke && touch %s"},
		{"command-line", "apt", "/usr/bin/perl -w /usr/sbin/dpkg-preconfigure --apt </dev/null && touch %s"},
		{"apt-get", "apt-get", "/usr/bin/python3 -c 'import sys' && touch %s"},
	}
	var tags []string
	for _, c := range cases {
		tag := newTag(c.name)
		tags = append(tags, tag)
		ran := filepath.Join(dir, c.name)
		aptRun(t, c.tool, "-o", preInvoke(fmt.Sprintf(c.cmd, ran)+"; : "+tag))
		if _, err := os.Stat(ran); err != nil {
			t.Errorf("%s: the hook did not run: %v", c.name, err)
		}
	}
	control := newTag("control")
	aptRun(t, "apt", "-o", preInvoke("/usr/bin/python3 -c 'import sys'; : "+control))
	checkExecAlert(t, s, control, "python3")
	for i, c := range cases {
		for _, a := range s.tagged(aptExecRuleID, tags[i]) {
			t.Errorf("%s: alert %s", c.name, a.raw)
		}
	}
}

// TestE2EAptRulesTogether: one incident as the README tells it. A shell
// writes a hook file into /etc/apt/apt.conf.d (7c2e1297); apt update runs
// it; its shell starts python3 (ad959eeb), which connects out (eaef8a35).
// Each rule alerts once, in that order; the messages are logged for the
// README's sample.
func TestE2EAptRulesTogether(t *testing.T) {
	requireE2E(t)
	requireTools(t, "python3", "sh")
	s := startSensor(t)
	tag := newTag("together")
	path := "/etc/apt/apt.conf.d/99" + tag
	removeAtCleanup(t, path)
	hook := "/usr/bin/python3 -c 'import socket, sys; socket.socket().connect_ex((sys.argv[1], 443))' 1.1.1.1; : " + tag
	write := exec.Command("sh", "-c", "cat > "+path)
	write.Stdin = strings.NewReader("APT::Update::Pre-Invoke { \"" + hook + "\"; };\n")
	if out, err := write.CombinedOutput(); err != nil {
		t.Fatalf("writing %s: %v\n%s", path, err, out)
	}
	aptRun(t, "apt")
	must(t, os.Remove(path))

	var order []string
	file, ok := s.waitRuleAlert(aptConfRuleID, func(a alertLine) bool { return field(a.doc, "file.path") == path }, 5*time.Second)
	if !ok {
		t.Fatalf("no %s alert for %s", aptConfRuleID, path)
	}
	exe, ok1 := s.waitTagged(aptExecRuleID, tag, 5*time.Second)
	conn, ok2 := s.waitTagged(aptNetconRuleID, tag, 5*time.Second)
	if !ok1 || !ok2 {
		t.Fatalf("ad959eeb alert %v, eaef8a35 alert %v; logs:\n%s", ok1, ok2, s.logText())
	}
	for _, a := range []alertLine{file, exe, conn} {
		order = append(order, field(a.doc, "rule.id").(string)[:8])
		// As README "How the APT rules read together" shows them.
		t.Logf("alert: %s %s %s", field(a.doc, "@timestamp"), field(a.doc, "rule.id").(string)[:8], field(a.doc, "message"))
	}
	if !file.received.Before(exe.received) || exe.received.After(conn.received) {
		t.Errorf("alerts arrived out of order: %v (want 7c2e1297 ad959eeb eaef8a35)", order)
	}
	if field(exe.doc, "process.entity_id") != field(conn.doc, "process.entity_id") {
		t.Errorf("ad959eeb and eaef8a35 name different hook shells:\n%s\n%s", exe.raw, conn.raw)
	}
	if field(lastEvent(t, exe), "process.entity_id") != field(lastEvent(t, conn), "process.entity_id") {
		t.Errorf("the child that started is not the one that connected")
	}
}

// ad959eeb also fires on the seed rule's tests' hooks (their child is
// bash): the harness keeps its alerts aside.
func init() { asideRules[aptExecRuleID] = true }
