package rules

import (
	"strings"
	"testing"
	"time"
)

// The shipped rule ad959eeb, "Suspicious APT Package Manager Execution"
// (upstream version 111). Its exclusions are tested over recorded events
// in cmd/aptsentinel (rules_ad959eeb_test.go) and live in e2e_ad959eeb_test.go.
const aptExecID = "ad959eeb-2b7b-4722-ba08-a45f6622f005"

func TestAptExecMetadata(t *testing.T) {
	r, err := Builtin(aptExecID)
	if err != nil {
		t.Fatal(err)
	}
	checkMeta(t, r, wantMeta{name: "Suspicious APT Package Manager Execution", version: 111, riskScore: 21, severity: "low", maxspan: 5 * time.Second, steps: 2})
	if r.Description == "" || strings.Contains(r.Description, "Detects suspicious process events executed") {
		t.Errorf("description is empty or upstream text: %q", r.Description)
	}
	var got []string
	for _, th := range r.Threat {
		got = append(got, th.Tactic.ID)
		for _, tq := range th.Techniques {
			got = append(got, tq.ID)
			for _, s := range tq.Subtechniques {
				got = append(got, s.ID)
			}
		}
	}
	want := "TA0003 T1543 T1546 T1546.016 T1574 TA0002 T1059 T1059.004 T1059.006 TA0005"
	if strings.Join(got, " ") != want {
		t.Errorf("threat mapping %q, want %q", strings.Join(got, " "), want)
	}
}

// TestAptExecFieldsFilled: no field the shipped ad959eeb tests is one the
// sensor never fills (upstream's ?-prefixed fields included).
func TestAptExecFieldsFilled(t *testing.T) {
	files, err := ShippedFiles()
	if err != nil {
		t.Fatal(err)
	}
	const name = "apt_hook_shell_interpreter_child.toml"
	raw, ok := files[name]
	if !ok {
		t.Fatalf("%s not shipped", name)
	}
	f, err := ParseFile(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
}
