package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upstreamShape is a rule file in the shape elastic/detection-rules
// publishes ([metadata], [rule] with author, index, note, setup, tags...,
// query as a literal multi-line string, threat tables). The text is ours;
// a user's own copy of an upstream file has this shape and must load.
const upstreamShape = `[metadata]
creation_date = "2024/01/01"
integration = ["endpoint"]
maturity = "production"
updated_date = "2026/03/24"

[rule]
author = ["Someone"]
description = "A test rule in the upstream file shape."
from = "now-9m"
index = ["logs-endpoint.events.process*", "logs-endpoint.events.network*"]
language = "eql"
license = "Some License"
name = "Upstream Shaped Rule"
note = """## Triage
Look at it."""
references = ["https://example.invalid/"]
risk_score = 21
rule_id = "11111111-2222-4333-8444-555555555555"
setup = "none"
severity = "low"
tags = ["Domain: Endpoint", "OS: Linux"]
timestamp_override = "event.ingested"
type = "eql"
query = '''
sequence by host.id with maxspan=30s
  [process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and
   process.parent.name in ("apt", "apt-get") and process.args == "-c"] by process.entity_id
  [network where host.os.type == "linux" and event.action == "connection_attempted"] by process.parent.entity_id
'''

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1546"
name = "Event Triggered Execution"
reference = "https://attack.mitre.org/techniques/T1546/"
[[rule.threat.technique.subtechnique]]
id = "T1546.016"
name = "Installer Packages"
reference = "https://attack.mitre.org/techniques/T1546/016/"

[rule.threat.tactic]
id = "TA0003"
name = "Persistence"
reference = "https://attack.mitre.org/tactics/TA0003/"
`

func TestUpstreamShapeLoads(t *testing.T) {
	f, err := ParseFile("up.toml", []byte(upstreamShape))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Rule
	if r.ID != "11111111-2222-4333-8444-555555555555" || r.Version != 1 || r.RiskScore != 21 || r.Severity != "low" ||
		r.MaxSpan != 30*time.Second || r.Query.Steps() != 2 {
		t.Errorf("rule %+v", r)
	}
	if len(r.Threat) != 1 || r.Threat[0].Tactic.ID != "TA0003" || r.Threat[0].Techniques[0].Subtechniques[0].ID != "T1546.016" {
		t.Errorf("threat %+v", r.Threat)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings %v", f.Warnings)
	}
	e, err := NewEngine([]*Rule{r}, EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sh := shellExec("h", "s", 0)
	sh.Process.Parent.Name = "apt-get"
	e.Process(sh)
	if m := e.Process(connectFrom("h", "s", "127.0.0.1", 20*time.Second)); len(m) != 1 {
		t.Errorf("%d matches, want 1", len(m))
	}
}

// TestFileErrorPositions: errors name FILE:LINE:COL in the file, also
// inside the query string, whatever TOML string kind holds it.
func TestFileErrorPositions(t *testing.T) {
	head := "[rule]\nrule_id = \"x\"\nname = \"n\"\n"
	tests := []struct {
		name, file, want string
	}{
		{"toml syntax", head + "version = \n", "t.toml:4:"},
		{"literal multi-line", head + "query = '''\nprocess where\n  process.name = \"sh\"\n'''\n", "t.toml:6:16: single ="},
		{"literal one line", head + "query = 'process where process.name = \"sh\"'\n", "t.toml:4:37: single ="},
		{"basic with escapes", head + "query = \"process where process.name == \\\"a\\\" and process.pid = 1\"\n", "t.toml:4:62: single ="},
		{"basic multi-line with continuation", head + "query = \"\"\"\nprocess where \\\n   process.name == \\\"a\\\" and\n  process.pid = 1\"\"\"\n", "t.toml:7:15: single ="},
		{"unknown category", head + "query = '''\n\n  registry where true'''\n", "t.toml:6:3: unknown event category"},
		{"bad severity", head + "severity = \"urgent\"\nquery = 'process where true'\n", "t.toml:4:1: severity"},
		{"not eql", head + "type = \"query\"\nquery = 'x'\n", "t.toml:4:1: rule type"},
		{"no rule", "title = 1\n", "t.toml:1:1: no [rule]"},
		{"exception condition", "[[exception]]\nrule_id = \"x\"\ncondition = '''\n  process.name = \"a\"'''\n", "t.toml:4:16: single ="},
		// detection-rules files carry other query keys ahead of [rule]
		// ([[transform.osquery]]): the error is in [rule]'s.
		{"query after another table's query", "[[transform.osquery]]\nquery = \"SELECT 1\"\n" + head + "query = '''\n  iam where true'''\n", "t.toml:7:3: unknown event category"},
		{"unknown key in our block", head + "query = 'process where true'\n[aptsentinel]\nmesage = \"x\"\n", "t.toml:6:1: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("t.toml", []byte(tt.file))
			var fe *FileError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), tt.want[:strings.LastIndex(tt.want, ":")+1]) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUnknownFieldWarning(t *testing.T) {
	f, err := ParseFile("w.toml", []byte("[rule]\nrule_id = \"x\"\nname = \"n\"\nquery = '''\nprocess where process.code_signature.trusted == true and process.name == \"x\"'''\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].Error() != "w.toml:5:15: field process.code_signature.trusted is never filled by this sensor: it is always null" {
		t.Fatalf("warnings %v", f.Warnings)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadRulesD: a rules.d file replaces a shipped rule by id, disables
// one, and adds an exception that silences a match.
func TestLoadRulesD(t *testing.T) {
	set, err := Load(LoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Enabled()) == 0 || set.Rules[0].Source != SourceBuiltin {
		t.Fatalf("shipped set %+v", set.Rules)
	}

	dir := t.TempDir()
	writeFile(t, dir, "10-site.toml", `
[[exception]]
rule_id = "`+AptNetconID+`"
step = 1
reason = "our mirror sync hook"
condition = '''process.args : "*/usr/local/bin/mirror-sync*"'''
`)
	set, err = Load(LoadConfig{Dirs: []string{dir, filepath.Join(dir, "missing")}})
	if err != nil {
		t.Fatal(err)
	}
	r := ruleByID(t, set, AptNetconID)
	if len(r.Exceptions) != 1 || r.Exceptions[0].Source != filepath.Join(dir, "10-site.toml")+":6" {
		t.Fatalf("exceptions %+v", r.Exceptions)
	}
	e, _ := NewEngine(set.Enabled(), EngineConfig{})
	hook := shellExec("h", "s1", 0)
	hook.Process.Args = []string{"/bin/sh", "-c", "/usr/local/bin/mirror-sync --quiet"}
	other := shellExec("h", "s2", 0)
	e.Process(hook)
	e.Process(other)
	if m := e.Process(connectFrom("h", "s1", "8.8.8.8", time.Second)); len(m) != 0 {
		t.Error("the excepted hook alerted")
	}
	if m := e.Process(connectFrom("h", "s2", "8.8.8.8", time.Second)); len(m) != 1 {
		t.Error("another hook did not alert")
	}

	writeFile(t, dir, "20-off.toml", `disable = ["`+AptNetconID+`"]`)
	set, err = Load(LoadConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Enabled()) != len(set.Rules)-1 || set.Disabled[AptNetconID] == "" {
		t.Errorf("disable: enabled %d of %d", len(set.Enabled()), len(set.Rules))
	}
	os.Remove(filepath.Join(dir, "20-off.toml"))

	replacement := strings.Replace(upstreamShape, "11111111-2222-4333-8444-555555555555", AptNetconID, 1)
	p := writeFile(t, dir, "30-replace.toml", replacement)
	// The exception (step 1) applies to the replacement as well.
	set, err = Load(LoadConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if r := ruleByID(t, set, AptNetconID); r.Source != p || r.Name != "Upstream Shaped Rule" || len(r.Exceptions) != 1 {
		t.Errorf("replacement: %s from %s", r.Name, r.Source)
	}

	writeFile(t, dir, "40-bad.toml", "[[exception]]\nrule_id = \"no-such-rule\"\ncondition = 'true'\n")
	if _, err := Load(LoadConfig{Dirs: []string{dir}}); err == nil || !strings.Contains(err.Error(), "40-bad.toml:2:1: exception for rule no-such-rule") {
		t.Errorf("exception for an unknown rule: %v", err)
	}
}

// TestReloadKeepsUnchangedRules: reloading the same files keeps pending
// sequences; a changed exception starts the rule afresh.
func TestReloadKeepsUnchangedRules(t *testing.T) {
	set, _ := Load(LoadConfig{})
	e, _ := NewEngine(set.Enabled(), EngineConfig{})
	e.Process(shellExec("h", "s", 0))
	again, _ := Load(LoadConfig{})
	if err := e.Reload(again.Enabled()); err != nil {
		t.Fatal(err)
	}
	if m := e.Process(connectFrom("h", "s", "8.8.8.8", time.Second)); len(m) != 1 {
		t.Fatalf("pending sequence lost over a reload of unchanged rules")
	}
	e.Process(shellExec("h", "s", 2*time.Second))
	dir := t.TempDir()
	writeFile(t, dir, "x.toml", "[[exception]]\nrule_id = \""+AptNetconID+"\"\ncondition = 'process.name == \"never\"'\n")
	changed, err := Load(LoadConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	// Other shipped rules that start on a hook shell (9277f4aa) did not
	// change: their pending sequences stay.
	before := e.Stats().Pending
	if err := e.Reload(changed.Enabled()); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Dropped != 1 || s.Pending != before-1 {
		t.Fatalf("stats %+v (%d pending before), want only the changed rule's sequence dropped", s, before)
	}
}

// ruleByID returns the loaded rule with id (the shipped set holds several).
func ruleByID(t *testing.T, set *Set, id string) *Rule {
	t.Helper()
	for _, r := range set.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s in %d rules", id, len(set.Rules))
	return nil
}
