package audit

import (
	"strings"
	"testing"
)

// rulesFromText builds a kernel rule list from auditctl lines, as the
// kernel would list them (tests inject it instead of reading the kernel).
func rulesFromText(t *testing.T, lines ...string) []KernelRule {
	t.Helper()
	var out []KernelRule
	for _, l := range lines {
		w, err := BuildRule(RuleSpec{Text: l})
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		r, err := ParseKernelRule(w)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func sensorNeeds(t *testing.T) ([]Need, []string) {
	t.Helper()
	specs, _ := SensorRules("aptsentinel", 4242, Features{Execveat: true, Compat32: true, Connect32: true})
	needs, err := NeedsOf(specs)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range specs {
		if strings.Contains(s.Text, "-F path=") {
			continue // the file watch is no syscall need (NeedsOf)
		}
		texts = append(texts, strings.TrimPrefix(strings.TrimPrefix(s.Text, "-A "), "-a "))
	}
	return needs, texts
}

func verdicts(cov []NeedCoverage) map[string]string {
	m := map[string]string{}
	for _, c := range cov {
		m[c.Name] = c.Verdict
	}
	return m
}

func TestNeedsOf(t *testing.T) {
	needs, _ := sensorNeeds(t)
	var names []string
	for _, n := range needs {
		names = append(names, n.Name)
	}
	// TCP Fast Open sends (MSG_FASTOPEN) are connection attempts too.
	want := "b64 execve,b64 execveat,b64 connect,b64 sendto,b64 sendmmsg,b64 sendmsg," +
		"b32 execve,b32 execveat,b32 connect,b32 sendmmsg,b32 sendto,b32 sendmsg,b32 socketcall"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("needs %s\nwant %s", got, want)
	}
}

func TestCoverage(t *testing.T) {
	needs, ours := sensorNeeds(t)
	withOurs := func(before []string, after ...string) []KernelRule {
		lines := append(append([]string{}, before...), func() []string {
			var o []string
			for _, l := range ours {
				o = append(o, "-a "+l)
			}
			return o
		}()...)
		return rulesFromText(t, append(lines, after...)...)
	}
	for _, tc := range []struct {
		name  string
		rules []KernelRule
		want  map[string]string // only the needs named
	}{
		{"ours alone", withOurs(nil), map[string]string{"b64 execve": CoveredOurs, "b64 connect": CoveredOurs, "b32 socketcall": CoveredOurs}},
		{"never connect ahead", withOurs([]string{"-a never,exit -F arch=b64 -S connect -k quiet"}),
			map[string]string{"b64 connect": Shadowed, "b64 execve": CoveredOurs, "b32 connect": CoveredOurs}},
		{"never connect behind ours", withOurs(nil, "-a never,exit -F arch=b64 -S connect -k quiet"),
			map[string]string{"b64 connect": CoveredOurs}},
		{"conditional never ahead", withOurs([]string{"-a never,exit -F arch=b64 -S execve -F uid=33"}),
			map[string]string{"b64 execve": PartlyShadowed, "b64 connect": CoveredOurs}},
		{"admin always first", withOurs([]string{"-a always,exit -F arch=b64 -S execve -k exec"}),
			map[string]string{"b64 execve": CoveredOther, "b64 execveat": CoveredOurs}},
		{"admin conditional always first", withOurs([]string{"-a always,exit -F arch=b64 -S execve -F auid>=1000 -k exec"}),
			map[string]string{"b64 execve": CoveredOurs}},
		{"never without arch hits b64 numbers", withOurs([]string{"-a never,exit -S connect"}),
			map[string]string{"b64 connect": Shadowed, "b32 connect": CoveredOurs}},
		{"task never", withOurs([]string{"-a task,never"}), map[string]string{"b64 execve": Shadowed, "b32 connect": Shadowed}},
		{"exclude EXECVE", withOurs([]string{"-a always,exclude -F msgtype=EXECVE"}), map[string]string{"b64 execve": Shadowed}},
		{"exclude other type", withOurs([]string{"-a always,exclude -F msgtype=CRED_ACQ"}), map[string]string{"b64 execve": CoveredOurs}},
		// Locked: the sensor's rules are absent; what the admin's do.
		{"locked, admin covers exec", rulesFromText(t, "-a always,exit -F arch=b64 -S execve,execveat -k exec"),
			map[string]string{"b64 execve": CoveredOther, "b64 execveat": CoveredOther, "b64 connect": Missing, "b32 execve": Missing}},
		{"locked, nothing", nil, map[string]string{"b64 execve": Missing}},
	} {
		got := verdicts(Coverage(tc.rules, needs, "aptsentinel"))
		for name, want := range tc.want {
			if got[name] != want {
				t.Errorf("%s: %s is %q, want %q", tc.name, name, got[name], want)
			}
		}
	}
}

func TestCoverageNamesTheRuleAndNewShadows(t *testing.T) {
	needs, ours := sensorNeeds(t)
	var lines []string
	for _, l := range ours {
		lines = append(lines, "-a "+l)
	}
	before := Coverage(rulesFromText(t, lines...), needs, "aptsentinel")
	after := Coverage(rulesFromText(t, append([]string{"-a never,exit -F arch=b64 -S connect -k quiet"}, lines...)...), needs, "aptsentinel")
	fresh := newShadows(before, after)
	if len(fresh) != 1 || fresh[0].Name != "b64 connect" || fresh[0].By != "-a never,exit -F arch=b64 -S connect -k quiet" {
		t.Fatalf("new shadows %+v", fresh)
	}
	if again := newShadows(after, after); len(again) != 0 {
		t.Fatalf("an old shadow reported again: %+v", again)
	}
	if bad := NotSeen(after); len(bad) != 1 {
		t.Fatalf("NotSeen %+v", bad)
	}
}
