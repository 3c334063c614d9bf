package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// Real hooks must stay quiet (issue 8): the stock Debian packages that
// ship APT hooks are installed from .deb files (.ci/stock-hook-debs
// fetched them and installed their dependencies; the test reaches no
// network) with the sensor running, then a package from a local file
// repository is installed and upgraded once each with apt, apt-get and
// unattended-upgrade. No shipped rule may alert during those runs, and
// each hook must have run: the evidence is the exec of the hook's program
// as the sensor saw it, raised by a test rule of ours (evidenceRules).

const hookDebDir = "/var/cache/aptsentinel-ci/hook-debs" // .ci/stock-hook-debs

// stockHooks are the packages the test installs, in .ci/stock-hook-debs.
var stockHooks = []string{"apt-listchanges", "needrestart", "etckeeper", "unattended-upgrades",
	"apt-show-versions", "command-not-found", "apt-file"}

// evidenceRules are the conditions of test rules that alert on the exec
// of each hook's program by a shell started with -c: the proof that the
// hook ran, and the events the hook shell and its child made. The keys
// name the hooks. (test and [ are left out: command-not-found's hook line
// runs /usr/bin/test on its program's path.)
var evidenceRules = map[string]string{
	// DPkg::Pre-Install-Pkgs "/usr/bin/apt-listchanges --apt || test $? -lt 10"
	"apt-listchanges": `process.args == "/usr/bin/apt-listchanges"`,
	// DPkg::Post-Invoke "test -x /usr/lib/needrestart/apt-pinvoke && /usr/lib/needrestart/apt-pinvoke || true"
	"needrestart": `process.args == "/usr/lib/needrestart/apt-pinvoke"`,
	// DPkg::Pre-Invoke and Post-Invoke "if [ -x /usr/bin/etckeeper ]; then etckeeper pre-install; fi" (post-install)
	"etckeeper-pre":  `process.args == "/usr/bin/etckeeper" and process.args == "pre-install"`,
	"etckeeper-post": `process.args == "/usr/bin/etckeeper" and process.args == "post-install"`,
	// APT::Update::Post-Invoke-Success "test -x /usr/bin/apt-show-versions || exit 0 ; apt-show-versions -i"
	"apt-show-versions": `process.args : "*/apt-show-versions" and process.args == "-i"`,
	// APT::Update::Post-Invoke-Success "if /usr/bin/test -w /var/lib/command-not-found/ -a -e /usr/lib/cnf-update-db; then /usr/lib/cnf-update-db > /dev/null; fi"
	"command-not-found": `process.args == "/usr/lib/cnf-update-db"`,
	// debconf's own (not installed by the test): DPkg::Pre-Install-Pkgs "/usr/sbin/dpkg-preconfigure --apt || true"
	"debconf": `process.args == "/usr/sbin/dpkg-preconfigure" and process.args == "--apt"`,
}

const evidencePrefix = "00000000-0000-4000-8000-0000000e0" // + 3 digits

// writeEvidenceRules writes evidenceRules into dir, one file each, and
// returns the rule id of each hook.
func writeEvidenceRules(t *testing.T, dir string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	names := slices.Sorted(maps.Keys(evidenceRules))
	for i, name := range names {
		id := fmt.Sprintf("%s%03d", evidencePrefix, i)
		ids[name] = id
		body := fmt.Sprintf("[rule]\nrule_id = %q\nname = %q\nseverity = \"low\"\nrisk_score = 1\n"+
			"query = '''sequence by host.id with maxspan=60s\n"+
			"  [process where event.action == \"exec\" and process.args == \"-c\"] by process.entity_id\n"+
			"  [process where event.action == \"exec\" and not process.name in (\"test\", \"[\") and %s] by process.parent.entity_id'''\n"+
			"[aptsentinel]\nmessage = \"hook ran: {{last.process.command_line}} (shell run by {{process.parent.name}})\"\n",
			id, "evidence: "+name, evidenceRules[name])
		must(t, os.WriteFile(filepath.Join(dir, name+".toml"), []byte(body), 0o644))
	}
	return ids
}

// phase is one front-end run: its name, the alerts it raised (the
// shipped rules' and the evidence) and its output.
type phase struct {
	name     string
	from, to time.Time
	out      string
}

// TestE2EQuietStockHooks: see the top of this file. Hook packages already
// installed on the host are used as they are and left installed.
func TestE2EQuietStockHooks(t *testing.T) {
	requireE2E(t)
	requireTools(t, "dpkg-deb", "dpkg-scanpackages", "git")
	var debs []string
	for _, p := range stockHooks {
		m, _ := filepath.Glob(filepath.Join(hookDebDir, p+"_*.deb"))
		if len(m) != 1 {
			testenv.Require(t, "the stock hook packages as .deb files", fmt.Errorf("%s: %d files for %s (run .ci/install-deps)", hookDebDir, len(m), p))
		}
		debs = append(debs, m[0])
	}
	var ours []string // hook packages this test installs and purges
	for _, p := range stockHooks {
		if !installed(p) {
			ours = append(ours, p)
		}
	}
	if len(ours) < len(stockHooks) {
		t.Logf("already installed on this host, left alone: %v", slices.DeleteFunc(slices.Clone(stockHooks), func(p string) bool { return slices.Contains(ours, p) }))
	}
	uuBin, err := exec.LookPath("unattended-upgrade")
	if err == nil && !slices.Contains(ours, "unattended-upgrades") {
		t.Logf("unattended-upgrade already at %s", uuBin)
	}

	// /etc as it was: restored last (cleanups run in reverse order).
	etcBefore := etcSnapshot(t)
	t.Cleanup(func() { restoreEtc(t, etcBefore) })
	const pkg = "aptsentinel-quiet-test"
	// State outside /etc the purge leaves: ucf's registry keeps the two
	// files unattended-upgrades registered (its purge drops them from the
	// hash file only), and unattended-upgrade's log directory stays.
	restoreFiles(t, "/var/lib/ucf/registry", "/var/lib/ucf/hashfile")
	removeIfNew(t, "/var/log/unattended-upgrades")
	t.Cleanup(func() { purge(t, append([]string{pkg}, ours...)...) })
	withPolicyRC(t)
	// unattended-upgrade takes the local origin from an apt.conf.d file, as
	// an admin would configure it; written before the sensor starts, so
	// rule 7c2e1297 does not see the test write it.
	uuConf := "/etc/apt/apt.conf.d/99aptsentinel-quiet-origin"
	removeAtCleanup(t, uuConf)
	must(t, os.WriteFile(uuConf, []byte("Unattended-Upgrade::Origins-Pattern { \"origin="+apttest.RepoOrigin+"\"; };\n"), 0o644))

	dir := t.TempDir()
	conf := "/etc/" + pkg + ".conf"
	v := func(version string) string {
		return apttest.BuildPackage(t, dir, apttest.Package{
			Name: pkg, Version: version,
			Files:     map[string]string{conf: "version=" + version + "\n"},
			Conffiles: []string{conf},
			NewsEntry: "aptsentinel news " + version,
		})
	}
	v1, v2 := v("1.0"), v("2.0")
	repo := apttest.NewRepo(t, "")
	env := []string{"NEEDRESTART_MODE=l"}

	rulesDir := t.TempDir()
	evidence := writeEvidenceRules(t, rulesDir)
	s := startSensor(t, "--rules-dir", rulesDir)

	// The hook packages themselves, installed with apt: record what our
	// rules say about it. apt-show-versions' postinst fails on empty
	// package lists: the repository's are filled first.
	repo.Publish(t, v1)
	repo.Run(t, env, "apt-get", "update")
	inst := time.Now()
	if len(ours) > 0 {
		var args []string
		for _, d := range debs {
			for _, p := range ours {
				if strings.HasPrefix(filepath.Base(d), p+"_") {
					args = append(args, d)
				}
			}
		}
		repo.Run(t, env, "apt", append([]string{"install", "-y", "--no-install-recommends"}, args...)...)
		t.Logf("installed %v", ours)
	}
	time.Sleep(2 * time.Second)
	// Installing unattended-upgrades has ucf copy its 20auto-upgrades into
	// apt.conf.d with cp: upstream's 7c2e1297 excludes neither cp nor that
	// name (it excludes 50unattended-upgrades, which ucf writes too), so it
	// alerts, and so does ours: no exclusion of our own (README "Real hooks
	// stay quiet" says why). Any other alert here is news.
	var got []string
	for _, a := range s.everyAlert(inst, time.Now()) {
		if !strings.HasPrefix(field(a.doc, "rule.id").(string), evidencePrefix) {
			t.Logf("alert while installing the hook packages: %s", field(a.doc, "message"))
			got = append(got, fmt.Sprintf("%s %v by %v (parent %v)", field(a.doc, "rule.id"), field(a.doc, "file.path"),
				field(a.doc, "process.executable"), field(a.doc, "process.parent.name")))
		}
	}
	var want []string
	if slices.Contains(ours, "unattended-upgrades") {
		want = []string{aptConfRuleID + " /etc/apt/apt.conf.d/20auto-upgrades by /usr/bin/cp (parent ucf)"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts while installing the hook packages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var phases []*phase
	run := func(name, tool string, args ...string) {
		p := &phase{name: name, from: time.Now()}
		p.out = repo.Run(t, env, tool, args...)
		time.Sleep(time.Second) // the sensor's last events of the run
		p.to = time.Now()
		phases = append(phases, p)
	}
	version := func(want string) {
		t.Helper()
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err != nil || string(out) != want {
			t.Fatalf("%s version %q (%v), want %s", pkg, out, err, want)
		}
	}
	for _, tool := range []string{"apt", "apt-get"} {
		repo.Publish(t, v1)
		run(tool+" update (v1)", tool, "update")
		run(tool+" install", tool, "install", "-y", pkg)
		version("1.0")
		repo.Publish(t, v2)
		run(tool+" update (v2)", tool, "update")
		run(tool+" upgrade", tool, "upgrade", "-y")
		version("2.0")
		purge(t, pkg)
	}
	repo.Publish(t, v1)
	run("apt-get update (v1, for unattended-upgrade)", "apt-get", "update")
	run("apt-get install (v1, for unattended-upgrade)", "apt-get", "install", "-y", pkg)
	repo.Publish(t, v2)
	run("apt-get update (v2, for unattended-upgrade)", "apt-get", "update")
	run("unattended-upgrade", "unattended-upgrade", "-v")
	version("2.0")

	var evidenceAlerts []alertLine
	for _, a := range s.everyAlert(time.Time{}, time.Now()) {
		if strings.HasPrefix(field(a.doc, "rule.id").(string), evidencePrefix) {
			evidenceAlerts = append(evidenceAlerts, a)
		}
	}
	checkInterpreterNames(t, evidenceAlerts)
	for _, p := range phases {
		ran := map[string]bool{}
		for _, a := range s.everyAlert(p.from, p.to) {
			id := field(a.doc, "rule.id").(string)
			if !strings.HasPrefix(id, evidencePrefix) {
				t.Errorf("%s: alert of %s: %s", p.name, id, a.raw)
				continue
			}
			for hook, hid := range evidence {
				if hid == id {
					ran[hook] = true
				}
			}
			if p.name == "apt update (v1)" || p.name == "apt install" || p.name == "unattended-upgrade" {
				t.Logf("%s: %s", p.name, field(a.doc, "message"))
			}
		}
		var want []string
		switch {
		case strings.Contains(p.name, "update"):
			want = []string{"apt-show-versions", "command-not-found"}
		default:
			want = []string{"apt-listchanges", "debconf", "etckeeper-post", "etckeeper-pre", "needrestart"}
		}
		var missing []string
		for _, h := range want {
			if !ran[h] {
				missing = append(missing, h)
			}
		}
		t.Logf("%s: hooks seen to run: %v", p.name, slices.Sorted(maps.Keys(ran)))
		if len(missing) > 0 {
			t.Errorf("%s: no evidence that %v ran; output:\n%s", p.name, missing, p.out)
		}
	}
}

// aptExecControl is ad959eeb's shape without its exclusions.
const aptExecControl = `[rule]
rule_id = "00000000-0000-4000-8000-0000000e0c01"
name = "ad959eeb without exclusions"
severity = "low"
risk_score = 1
query = '''
sequence by host.id with maxspan=5s
  [process where event.action == "exec" and process.parent.name == "apt" and process.args == "-c" and
     process.name in ("bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish")] by process.entity_id
  [process where event.action == "exec" and process.name like ("bash", "dash", "sh", "tcsh", "csh", "zsh",
     "ksh", "fish", "python*", "php*", "perl", "ruby", "lua*", "openssl", "nc", "netcat", "ncat", "telnet",
     "awk")] by process.parent.entity_id
'''
`

// checkInterpreterNames replays the hook shells and children that the
// evidence rules caught under apt, with each child's process.name made
// its interpreter's (perl, python3, dash) instead of the script's, through
// ad959eeb: the sensor names a #! script by its comm (the script), so the
// stock hooks are quiet without upstream's exclusions, and this shows they
// stay quiet by those exclusions (the command lines, the guarded
// `if [ -x` parent) if a script were named by its interpreter. The
// control (the rule without exclusions) must alert for every child.
func checkInterpreterNames(t *testing.T, alerts []alertLine) {
	t.Helper()
	seen := map[string]bool{}
	var lines []string
	children := 0
	for _, a := range alerts {
		if field(a.doc, "process.parent.name") != "apt" {
			continue
		}
		evs, _ := a.doc["events"].([]any)
		if len(evs) != 2 {
			t.Fatalf("evidence alert with %d events: %s", len(evs), a.raw)
		}
		child := evs[1].(map[string]any)
		proc := child["process"].(map[string]any)
		exe, _ := proc["executable"].(string)
		proc["name"] = filepath.Base(exe)
		children++
		for _, ev := range []any{evs[0], child} {
			b, err := json.Marshal(ev)
			must(t, err)
			if !seen[string(b)] {
				seen[string(b)] = true
				lines = append(lines, string(b))
			}
		}
	}
	if children == 0 {
		t.Fatal("no evidence alert under apt to replay")
	}
	// rules test wants the events in time order; RFC 3339 UTC sorts as text.
	sort.SliceStable(lines, func(i, j int) bool {
		var a, b struct {
			T string `json:"@timestamp"`
		}
		_ = json.Unmarshal([]byte(lines[i]), &a)
		_ = json.Unmarshal([]byte(lines[j]), &b)
		return a.T < b.T
	})
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	must(t, os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	control := filepath.Join(dir, "control.toml")
	must(t, os.WriteFile(control, []byte(aptExecControl), 0o644))
	count := func(rule string) (int, string) {
		var stdout, stderr bytes.Buffer
		if code := realMain([]string{"rules", "test", "--events", events, rule}, &stdout, &stderr); code != 0 {
			t.Fatalf("rules test %s: exit %d: %s", rule, code, stderr.String())
		}
		out := strings.TrimSpace(stdout.String())
		if out == "" {
			return 0, ""
		}
		return len(strings.Split(out, "\n")), out
	}
	if n, _ := count(control); n != children {
		t.Errorf("control: %d alerts for %d hook children named by their interpreter, want one each", n, children)
	}
	if n, out := count(shippedAptExec); n != 0 {
		t.Errorf("ad959eeb alerts for stock hooks whose scripts are named by their interpreter:\n%s", out)
	}
	t.Logf("%d stock hook children under apt, named by their interpreter: quiet by ad959eeb's exclusions", children)
}
