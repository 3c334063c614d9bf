package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAptNetconMetadata(t *testing.T) {
	r := AptNetcon()
	if r.ID != AptNetconID {
		t.Errorf("id = %s, want %s", r.ID, AptNetconID)
	}
	checkMeta(t, r, wantMeta{name: "Suspicious APT Package Manager Network Connection", version: 10, riskScore: 47, severity: "medium", maxspan: 5 * time.Second, steps: 2})
	if r.Description == "" || strings.Contains(r.Description, "Detects suspicious network events executed") {
		t.Errorf("description is empty or upstream text: %q", r.Description)
	}
	for _, ref := range r.References {
		if !strings.HasPrefix(ref, "https://") {
			t.Errorf("reference %q is not an https URL", ref)
		}
	}
	if AptNetcon() == r || AptNetcon().Query == r.Query {
		t.Error("AptNetcon returns shared state; each call must return a fresh rule")
	}
}

// TestAptNetconThreat pins the upstream v10 grouping of techniques under
// tactics, flattened to "tactic technique[/subtechnique]" lines.
func TestAptNetconThreat(t *testing.T) {
	var got []string
	for _, th := range AptNetcon().Threat {
		if th.Framework != "MITRE ATT&CK" {
			t.Errorf("tactic %s: framework %q", th.Tactic.ID, th.Framework)
		}
		if th.Tactic.Reference != "https://attack.mitre.org/tactics/"+th.Tactic.ID+"/" {
			t.Errorf("tactic %s: reference %q", th.Tactic.ID, th.Tactic.Reference)
		}
		got = append(got, th.Tactic.ID+" "+th.Tactic.Name)
		for _, tq := range th.Techniques {
			got = append(got, th.Tactic.ID+" "+tq.ID+" "+tq.Name+" "+tq.Reference)
			for _, s := range tq.Subtechniques {
				got = append(got, th.Tactic.ID+" "+tq.ID+"/"+s.ID+" "+s.Name+" "+s.Reference)
			}
		}
	}
	want := []string{
		"TA0003 Persistence",
		"TA0003 T1543 Create or Modify System Process https://attack.mitre.org/techniques/T1543/",
		"TA0003 T1546 Event Triggered Execution https://attack.mitre.org/techniques/T1546/",
		"TA0003 T1546/T1546.016 Installer Packages https://attack.mitre.org/techniques/T1546/016/",
		"TA0003 T1574 Hijack Execution Flow https://attack.mitre.org/techniques/T1574/",
		"TA0011 Command and Control",
		"TA0005 Defense Evasion",
		"TA0002 Execution",
		"TA0002 T1059 Command and Scripting Interpreter https://attack.mitre.org/techniques/T1059/",
		"TA0002 T1059/T1059.004 Unix Shell https://attack.mitre.org/techniques/T1059/004/",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("threat mapping:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIsAptHookShell(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Event)
		want   bool
	}{
		{"apt runs sh -c", func(*Event) {}, true},
		{"not an exec", func(ev *Event) { ev.Action = ActionConnectionAttempt }, false},
		{"parent APT (case-sensitive ==)", func(ev *Event) { ev.Process.Parent.Name = "APT" }, false},
		{"parent apt-get", func(ev *Event) { ev.Process.Parent.Name = "apt-get" }, false},
		{"parent empty", func(ev *Event) { ev.Process.Parent.Name = "" }, false},
		{"-c as argv[0]", func(ev *Event) { ev.Process.Args = []string{"-c", "hook"} }, true},
		{"-c last", func(ev *Event) { ev.Process.Args = []string{"sh", "-e", "hook", "-c"} }, true},
		{"-cx is not -c", func(ev *Event) { ev.Process.Args = []string{"sh", "-cx", "hook"} }, false},
		{"-C is not -c", func(ev *Event) { ev.Process.Args = []string{"sh", "-C", "hook"} }, false},
		{"' -c' is not -c", func(ev *Event) { ev.Process.Args = []string{"sh", " -c", "hook"} }, false},
		{"no -c", func(ev *Event) { ev.Process.Args = []string{"sh", "hook.sh"} }, false},
		{"no args", func(ev *Event) { ev.Process.Args = nil }, false},
		{"name bash5", func(ev *Event) { ev.Process.Name = "bash5" }, false},
		{"name Bash", func(ev *Event) { ev.Process.Name = "Bash" }, false},
		{"name is a path", func(ev *Event) { ev.Process.Name = "/bin/sh" }, false},
		{"name python3", func(ev *Event) { ev.Process.Name = "python3" }, false},
		{"apt-listbugs exclusion", func(ev *Event) {
			ev.Process.Args = []string{"/bin/sh", "-c", "/usr/bin/apt-listbugs apt"}
		}, false},
		{"apt-listbugs exclusion is exact: extra arg", func(ev *Event) {
			ev.Process.Args = []string{"/bin/sh", "-c", "/usr/bin/apt-listbugs apt -y"}
		}, true},
		{"apt-listbugs exclusion is exact: other path", func(ev *Event) {
			ev.Process.Args = []string{"/bin/sh", "-c", "apt-listbugs apt"}
		}, true},
		{"apt-listbugs exclusion is exact: case", func(ev *Event) {
			ev.Process.Args = []string{"/bin/sh", "-c", "/usr/bin/APT-listbugs apt"}
		}, true},
		{"apt-listbugs split over two args is not the excluded value", func(ev *Event) {
			ev.Process.Args = []string{"/bin/sh", "-c", "/usr/bin/apt-listbugs", "apt"}
		}, true},
	}
	for _, shell := range aptHookShells {
		tests = append(tests, struct {
			name   string
			modify func(*Event)
			want   bool
		}{"shell " + shell, func(ev *Event) { ev.Process.Name = shell }, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shellExec("h", "shell", 0)
			tt.modify(ev)
			if got := isAptHookShell(ev); got != tt.want {
				t.Errorf("isAptHookShell(name %q, parent %q, args %q) = %v, want %v",
					ev.Process.Name, ev.Process.Parent.Name, ev.Process.Args, got, tt.want)
			}
		})
	}
	if n := len(aptHookShells); n != 8 {
		t.Errorf("%d shells, want the 8 of the upstream rule", n)
	}
}

func TestIsRemoteConnectAttempt(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Event)
		want   bool
	}{
		{"public destination", func(*Event) {}, true},
		{"not a connect", func(ev *Event) { ev.Action = ActionExec }, false},
		{"apt-listbugs excluded", func(ev *Event) { ev.Process.Executable = "/usr/bin/apt-listbugs" }, false},
		{"apt-listbugs exclusion exact: other dir", func(ev *Event) { ev.Process.Executable = "/usr/local/bin/apt-listbugs" }, true},
		{"apt-listbugs exclusion exact: case", func(ev *Event) { ev.Process.Executable = "/usr/bin/Apt-listbugs" }, true},
		{"unknown executable is not apt-listbugs", func(ev *Event) { ev.Process.Executable = "" }, true},
		{"loopback destination", func(ev *Event) { ev.Destination = connectFrom("h", "p", "127.0.0.1", 0).Destination }, false},
		{"null destination", func(ev *Event) { ev.Destination = netip.AddrPort{} }, false},
		{"zero port still has an ip", func(ev *Event) { ev.Destination = netip.AddrPortFrom(ev.Destination.Addr(), 0) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := connectFrom("h", "shell", "8.8.8.8", 0)
			tt.modify(ev)
			if got := isRemoteConnectAttempt(ev); got != tt.want {
				t.Errorf("isRemoteConnectAttempt(exe %q, dst %v) = %v, want %v",
					ev.Process.Executable, ev.Destination, got, tt.want)
			}
		})
	}
}
