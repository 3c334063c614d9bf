package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSensorRulesShipped(t *testing.T) {
	set, err := Load(LoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{TamperRuleID, LossRuleID} {
		var r *Rule
		for _, x := range set.Rules {
			if x.ID == id {
				r = x
			}
		}
		if r == nil {
			t.Fatalf("rule %s not shipped", id)
		}
		if r.Type != TypeSensor || r.Query != nil || r.Source != SourceBuiltin || r.Version != 1 {
			t.Errorf("rule %s: type %q query %v source %q version %d", id, r.Type, r.Query, r.Source, r.Version)
		}
		if r.Message == "" || r.Description == "" || r.RiskScore == 0 {
			t.Errorf("rule %s: message, description or risk score missing", id)
		}
		if len(r.Threat) != 1 || r.Threat[0].Tactic.ID != "TA0005" || r.Threat[0].Techniques[0].Subtechniques[0].ID != "T1562.012" {
			t.Errorf("rule %s: threat %+v", id, r.Threat)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("rule %s: %v", id, err)
		}
	}
	// The engine runs only the query rules.
	e, err := NewEngine(set.Enabled(), EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.Rules() {
		if r.Type == TypeSensor {
			t.Errorf("engine runs sensor rule %s", r.ID)
		}
	}
	if err := e.Reload(set.Enabled()); err != nil {
		t.Fatal(err)
	}
	if len(e.Rules()) != len(set.Enabled())-2 {
		t.Errorf("engine after reload runs %d rules, want %d", len(e.Rules()), len(set.Enabled())-2)
	}
}

func TestSensorRuleDisabledByID(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "off.toml"), []byte(`disable = ["`+LossRuleID+`"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(LoadConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Enabled() {
		if r.ID == LossRuleID {
			t.Fatal("disabled sensor rule still enabled")
		}
	}
	if _, ok := set.Disabled[LossRuleID]; !ok {
		t.Fatal("loss rule not listed as disabled")
	}
}

func TestSensorRuleRefusals(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"query on a sensor rule": {`[rule]
rule_id = "x"
name = "x"
type = "sensor"
query = "process where true"
`, "takes no query"},
		"bad severity": {`[rule]
rule_id = "x"
name = "x"
type = "sensor"
severity = "huge"
`, "severity"},
	} {
		_, err := ParseFile("t.toml", []byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	dir := t.TempDir()
	ex := "[[exception]]\nrule_id = \"" + TamperRuleID + "\"\ncondition = \"process.name == \\\"auditctl\\\"\"\n"
	if err := os.WriteFile(filepath.Join(dir, "ex.toml"), []byte(ex), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(LoadConfig{Dirs: []string{dir}}); err == nil || !strings.Contains(err.Error(), "no query to except") {
		t.Errorf("exception on a sensor rule: err %v", err)
	}
}
