package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// Rule 9277f4aa "APT hook made a network connection (any front end, any
// descendant)" end to end: the real binary, the real kernel, the real apt
// and apt-get, hooks given with -o and as files in /etc/apt/apt.conf.d,
// every connection to 1.1.1.1 inside a new network namespace (it fails at
// once with ENETUNREACH and is still audited). Each case connects to its
// own port, so its alerts are told apart by destination.port.

const hookFamilyRuleID = "9277f4aa-a226-4a33-83aa-3f35d3f3fcee"

func init() { asideRules[hookFamilyRuleID] = true }

// tcpTo is bash's own connect (no further process) to 1.1.1.1:port.
func tcpTo(port int) string { return fmt.Sprintf("exec 3<>/dev/tcp/1.1.1.1/%d", port) }

// alertsFor returns the alerts of rule id for destination port so far.
func (s *sensorProc) alertsFor(id string, port int) []alertLine {
	var out []alertLine
	for _, a := range s.ruleAlerts(id) {
		if field(a.doc, "destination.port") == float64(port) {
			out = append(out, a)
		}
	}
	return out
}

// waitFor waits up to timeout for an alert of rule id for port.
func (s *sensorProc) waitFor(id string, port int, timeout time.Duration) (alertLine, bool) {
	return s.waitRuleAlert(id, func(a alertLine) bool { return field(a.doc, "destination.port") == float64(port) }, timeout)
}

// runApt runs `tool update` offline like aptRun, without failing on apt's
// exit status: a hook whose command fails (its connect does) fails the
// update when the shell exits with that status.
func runApt(t *testing.T, tool string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := apttest.Command(ctx, t, tool, extra...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s update did not end in 60s: %s", tool, out)
	}
	if err != nil {
		t.Logf("%s update: %v (expected when the hook fails)\n%s", tool, err, out)
	}
}

// hookFile writes an APT::Update::Pre-Invoke hook file into
// /etc/apt/apt.conf.d, removed at cleanup (also when the test fails).
func hookFile(t *testing.T, hook string) {
	t.Helper()
	if strings.Contains(hook, `"`) {
		t.Fatalf("hook %q: an apt.conf string cannot hold a double quote", hook)
	}
	f, err := os.CreateTemp("/etc/apt/apt.conf.d", "99aptsentinel-hookfamily-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	fmt.Fprintf(f, "APT::Update::Pre-Invoke { \"%s\"; };\n", hook)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkHookFamilyAlert checks the one alert of the rule for port: the hook
// shell as process, run by front end; events ending with the connecting
// process; the lineage from it up to the shell. It returns the alert.
func checkHookFamilyAlert(t *testing.T, s *sensorProc, port int, frontEnd string) alertLine {
	t.Helper()
	a, ok := s.waitFor(hookFamilyRuleID, port, 10*time.Second)
	if !ok {
		t.Fatalf("no alert of rule %s for port %d; logs:\n%s", hookFamilyRuleID, port, s.logText())
	}
	for path, want := range map[string]any{
		"rule.name":           "APT hook made a network connection (any front end, any descendant)",
		"rule.version":        "1",
		"rule.severity":       "high",
		"event.risk_score":    73.0,
		"process.name":        "sh",
		"process.parent.name": frontEnd,
		"destination.ip":      "1.1.1.1",
	} {
		if got := field(a.doc, path); got != want {
			t.Errorf("alert %s = %#v, want %#v\n%s", path, got, want, a.raw)
		}
	}
	events, _ := field(a.doc, "events").([]any)
	if len(events) != 2 {
		t.Fatalf("events: %d, want 2: %s", len(events), a.raw)
	}
	e1, e2 := events[0].(map[string]any), events[1].(map[string]any)
	if field(e1, "process.entity_id") != field(a.doc, "process.entity_id") || field(e2, "event.action") != "connection_attempted" ||
		field(e2, "error.code") != "ENETUNREACH" {
		t.Errorf("events: first is not the shell's exec or last is not a failed connection: %s", a.raw)
	}
	lineage, _ := field(a.doc, "aptsentinel.lineage").([]any)
	if len(lineage) == 0 {
		t.Fatalf("no aptsentinel.lineage: %s", a.raw)
	}
	first, last := lineage[0].(map[string]any), lineage[len(lineage)-1].(map[string]any)
	if first["entity_id"] != field(e2, "process.entity_id") || first["pid"] != field(e2, "process.pid") ||
		last["entity_id"] != field(a.doc, "process.entity_id") {
		t.Errorf("lineage %v does not run from the connecting process to the hook shell: %s", lineage, a.raw)
	}
	return a
}

// settle waits a little and requires exactly one alert of the rule for
// port, and want alerts of the seed rule for it.
func settle(t *testing.T, s *sensorProc, port, wantSeed int) {
	t.Helper()
	time.Sleep(time.Second)
	if n := len(s.alertsFor(hookFamilyRuleID, port)); n != 1 {
		t.Errorf("%d alerts of rule %s for port %d, want 1", n, hookFamilyRuleID, port)
	}
	if n := len(s.alertsFor(ruleID, port)); n != wantSeed {
		t.Errorf("%d alerts of the seed rule for port %d, want %d", n, port, wantSeed)
	}
}

func TestE2EHookFamily(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)

	// The window, started first and checked last (it takes 35 s): two
	// hooks of one apt-get run each leave a child that calls out after
	// their shell exited, one 20 s later (alerts), one 35 s later (past
	// the 30 s maxspan: no alert).
	const port20, port35 = 5120, 5135
	late := func(d, port int) string {
		return fmt.Sprintf("bash -c 'sleep %d; %s' >/dev/null 2>&1 & true", d, tcpTo(port))
	}
	windowStart := time.Now()
	runApt(t, "apt-get", "-o", preInvoke(late(20, port20)), "-o", preInvoke(late(35, port35)))

	t.Run("exec in place", func(t *testing.T) {
		// A hook of one command that the shell execs in its own place: the
		// connection comes from the shell's entity itself. Debian 12's dash
		// forks for `sh -c 'cmd'` as system(3) runs it, so the hook says
		// exec; the program is perl (perl-base is essential), not a shell:
		// a shell exec'd with -c would itself be a hook shell of the front
		// end, and restart the sequence (README).
		const port = 5101
		perl := fmt.Sprintf("exec perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => q(1.1.1.1:%d))'", port)
		runApt(t, "apt-get", "-o", preInvoke(perl))
		a := checkHookFamilyAlert(t, s, port, "apt-get")
		events, _ := field(a.doc, "events").([]any)
		e2 := events[1].(map[string]any)
		if field(e2, "process.entity_id") != field(a.doc, "process.entity_id") || field(e2, "process.name") != "perl" {
			t.Errorf("the connection is not the shell's own entity, now perl: %s", a.raw)
		}
		if l, _ := field(a.doc, "aptsentinel.lineage").([]any); len(l) != 1 {
			t.Errorf("lineage %v, want the one process", l)
		}
		settle(t, s, port, 0)
	})

	t.Run("grandchild by double fork", func(t *testing.T) {
		const port = 5102
		runApt(t, "apt-get", "-o", preInvoke("( (bash -c 'sleep 1; "+tcpTo(port)+"' >/dev/null 2>&1 &) & ); true"))
		a := checkHookFamilyAlert(t, s, port, "apt-get")
		l, _ := field(a.doc, "aptsentinel.lineage").([]any)
		if len(l) < 3 {
			t.Errorf("lineage %v: want the grandchild, the processes between and the shell", l)
		}
		// The sensor names every process of the chain from its tree.
		for _, x := range l {
			if m := x.(map[string]any); m["pid"] == nil || m["name"] == nil {
				t.Errorf("lineage entry %v lacks pid or name", m)
			}
		}
		settle(t, s, port, 0)
	})

	t.Run("setsid child, 2 s after the shell exited", func(t *testing.T) {
		const port = 5103
		runApt(t, "apt-get", "-o", preInvoke("setsid bash -c 'sleep 2; "+tcpTo(port)+"' >/dev/null 2>&1 & true"))
		a := checkHookFamilyAlert(t, s, port, "apt-get")
		if d := alertSpan(t, a); d < 1500*time.Millisecond {
			t.Errorf("connect %v after the shell's exec, want about 2 s", d)
		}
		settle(t, s, port, 0)
	})

	t.Run("three connections, one alert per rule (apt)", func(t *testing.T) {
		const port = 5104
		runApt(t, "apt", "-o", preInvoke("for i in 1 2 3; do bash -c '"+tcpTo(port)+"' 2>/dev/null; done; true"))
		checkHookFamilyAlert(t, s, port, "apt")
		// Under apt the seed rule fires too, once: each alert names its rule.
		settle(t, s, port, 1)
	})

	t.Run("hook file, apt-get", func(t *testing.T) {
		const port = 5105
		hookFile(t, "bash -c '"+tcpTo(port)+"' 2>/dev/null; true")
		runApt(t, "apt-get")
		checkHookFamilyAlert(t, s, port, "apt-get")
		settle(t, s, port, 0)
	})

	t.Run("hook file, apt", func(t *testing.T) {
		const port = 5106
		hookFile(t, "bash -c '"+tcpTo(port)+"' 2>/dev/null; true")
		runApt(t, "apt")
		checkHookFamilyAlert(t, s, port, "apt")
		settle(t, s, port, 1)
	})

	t.Run("a child 20 s later alerts, one 35 s later does not", func(t *testing.T) {
		time.Sleep(time.Until(windowStart.Add(21 * time.Second)))
		a := checkHookFamilyAlert(t, s, port20, "apt-get")
		if d := alertSpan(t, a); d < 19*time.Second || d > 30*time.Second {
			t.Errorf("connect %v after the shell's exec, want about 20 s", d)
		}
		// The 35 s child: wait until it has connected and its events are
		// read, then require nothing for it.
		// A barrier hook then shows the sensor has read past it: the audit
		// stream is in order.
		time.Sleep(time.Until(windowStart.Add(37 * time.Second)))
		const barrier = 5137
		runApt(t, "apt-get", "-o", preInvoke("bash -c '"+tcpTo(barrier)+"' 2>/dev/null; true"))
		checkHookFamilyAlert(t, s, barrier, "apt-get")
		settle(t, s, port20, 0)
		if n := len(s.alertsFor(hookFamilyRuleID, port35)); n != 0 {
			t.Errorf("%d alerts for the connection 35 s after its hook shell, want none (maxspan 30 s)", n)
		}
	})
}

// privateAptConf writes, in work, an APT configuration file for
// APT_CONFIG (read besides /etc/apt/apt.conf.d) with its own source list
// (sources), package lists and cache (an update must never touch the
// host's), plus extra; it returns the file's path.
func privateAptConf(t *testing.T, work, sources, extra string) string {
	t.Helper()
	for _, d := range []string{"lists/partial", "cache/archives/partial", "sources.list.d"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "sources.list"), []byte(sources), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(work, "apt.conf")
	text := fmt.Sprintf("Dir::Etc::SourceList \"%[1]s/sources.list\";\nDir::Etc::SourceParts \"%[1]s/sources.list.d\";\n"+
		"Dir::State::Lists \"%[1]s/lists\";\nDir::Cache \"%[1]s/cache\";\n", work) + extra
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// runContained runs args in a new network namespace with env.
func runContained(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-n"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// uuPackage is the package the unattended-upgrade test installs at 1.0 and
// lets unattended-upgrade upgrade to 2.0 from a local repository.
const uuPackage = "aptsentinel-test-uu"

// TestE2EHookFamilyUnattendedUpgrade: unattended-upgrade (python; comm
// "unattended-upgr") upgrades a package from a local file repository,
// offline in a new network namespace, and runs the DPkg::Pre-Invoke hook,
// whose child calls out: the rule alerts with unattended-upgr as the hook
// shell's parent; the seed rule does not.
func TestE2EHookFamilyUnattendedUpgrade(t *testing.T) {
	requireE2E(t)
	uu, err := exec.LookPath("unattended-upgrade")
	if err != nil {
		testenv.Require(t, "unattended-upgrade (package unattended-upgrades)", err)
	}
	for _, tool := range []string{"dpkg-scanpackages", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Require(t, tool+" (package dpkg-dev)", err)
		}
	}
	keepStamps(t, "/var/lib/apt/periodic") // unattended-upgrade writes its stamp there
	const port = 5140
	dir := t.TempDir()
	old := apttest.BuildPackage(t, dir, apttest.Package{Name: uuPackage, Version: "1.0"})
	hook := "bash -c '" + tcpTo(port) + "' 2>/dev/null; true"
	repo := apttest.NewRepo(t, `Unattended-Upgrade::Origins-Pattern { "origin=`+apttest.RepoOrigin+`"; };
Unattended-Upgrade::OnlyOnACPower "false";
Unattended-Upgrade::Skip-Updates-On-Metered-Connections "false";
DPkg::Pre-Invoke { "`+hook+`"; };
`)
	repo.Publish(t, apttest.BuildPackage(t, dir, apttest.Package{Name: uuPackage, Version: "2.0"}))
	t.Cleanup(func() {
		if exec.Command("dpkg-query", "-W", uuPackage).Run() == nil {
			if out, err := exec.Command("dpkg", "--purge", uuPackage).CombinedOutput(); err != nil {
				t.Errorf("dpkg --purge %s: %v\n%s", uuPackage, err, out)
			}
		}
	})
	if out, err := exec.Command("dpkg", "-i", old).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", old, err, out)
	}
	repo.Run(t, nil, "apt-get", "-q", "update")

	s := startSensor(t)
	out := repo.Run(t, nil, uu, "-v")
	if v, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", uuPackage).Output(); string(v) != "2.0" {
		t.Fatalf("unattended-upgrade left %s at %q, want 2.0 (the hook runs when dpkg does)\n%s", uuPackage, v, out)
	}
	a := checkHookFamilyAlert(t, s, port, "unattended-upgr")
	t.Logf("hook shell %v, run by %v (%v)", field(a.doc, "process.command_line"), field(a.doc, "process.parent.name"), field(a.doc, "process.parent.executable"))
	settle(t, s, port, 0)
}

// TestE2EHookFamilyAptDaily: the apt-daily job as the timer runs it,
// /usr/lib/apt/apt.systemd.daily update (a shell script, comm
// "apt.systemd.dai"), runs apt-get update, whose Pre-Invoke hook calls out:
// the hook shell's parent is apt-get (the script only starts it), and the
// rule alerts; the seed rule, which names apt only, does not. The script's
// update stamp is put back as it was.
func TestE2EHookFamilyAptDaily(t *testing.T) {
	requireE2E(t)
	const daily = "/usr/lib/apt/apt.systemd.daily"
	if _, err := os.Stat(daily); err != nil {
		testenv.Require(t, daily+" (package apt)", err)
	}
	keepStamps(t, "/var/lib/apt/periodic")
	const port = 5150
	hook := "bash -c '" + tcpTo(port) + "' 2>/dev/null; true"
	conf := privateAptConf(t, t.TempDir(), "", `APT::Periodic::Enable "1";
APT::Periodic::Update-Package-Lists "always";
APT::Periodic::Verbose "2";
APT::Update::Pre-Invoke { "`+hook+`"; };
`)
	s := startSensor(t)
	out := runContained(t, append(os.Environ(), "APT_CONFIG="+conf), daily, "update")
	a := checkHookFamilyAlert(t, s, port, "apt-get")
	t.Logf("hook shell %v run by %v; apt.systemd.daily said:\n%s", field(a.doc, "process.command_line"), field(a.doc, "process.parent.args"), out)
	settle(t, s, port, 0)
}

// keepStamps puts the files of dir back as they were at cleanup: those the
// test made are removed, the others get their times back.
func keepStamps(t *testing.T, dir string) {
	t.Helper()
	before := map[string]time.Time{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			before[e.Name()] = info.ModTime()
		}
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if mt, ok := before[e.Name()]; ok {
				os.Chtimes(p, mt, mt)
			} else {
				os.Remove(p)
			}
		}
	})
}

// TestHookFamilyRulesListAndCheck: the built binary lists the rule as a
// shipped one, and `rules check` accepts its file (which uses the join
// extension) and refuses the extension on a first step with FILE:LINE:COL.
func TestHookFamilyRulesListAndCheck(t *testing.T) {
	out, err := exec.Command(sensorBin, "rules", "list", "--rules-dir", t.TempDir()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), hookFamilyRuleID+"  APT hook made a network connection (any front end, any descendant)") {
		t.Errorf("rules list: %v\n%s", err, out)
	}
	if out, err := exec.Command(sensorBin, "rules", "check", "../../rules/shipped/apt_hook_any_descendant.toml").CombinedOutput(); err != nil {
		t.Errorf("rules check of the shipped file: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	rule := "[rule]\nrule_id = \"x\"\nname = \"x\"\nquery = '''\nsequence\n  [process where true] by process.entity_id or process.Ext.ancestry\n  [network where true] by process.entity_id\n'''\n"
	if err := os.WriteFile(bad, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(sensorBin, "rules", "check", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), bad+":6:27: join key process.entity_id or process.Ext.ancestry") {
		t.Errorf("rules check of a first step with alternatives: %v\n%s", err, out)
	}
}
