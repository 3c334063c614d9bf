package rules

import (
	"slices"
	"time"
)

// AptNetconID is the rule_id of Elastic's "Suspicious APT Package Manager
// Network Connection".
const AptNetconID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

// AptNetcon returns the rule "Suspicious APT Package Manager Network
// Connection", version 10 (updated 2026-03-24 in elastic/detection-rules,
// rules/linux/persistence_apt_package_manager_netcon.toml). Each call
// returns a fresh value, so a caller that changes it changes only its copy.
//
// The upstream EQL, restated:
//
//	sequence by host.id with maxspan=5s
//	  [process where host.os.type == "linux" and event.type == "start" and
//	   event.action == "exec" and process.parent.name == "apt" and
//	   process.args == "-c" and process.name in (shells) and
//	   not process.args == "/usr/bin/apt-listbugs apt"] by process.entity_id
//	  [network where host.os.type == "linux" and event.type == "start" and
//	   event.action == "connection_attempted" and
//	   not (destination.ip == null or destination.ip == "0.0.0.0" or
//	        cidrmatch(destination.ip, excluded CIDRs)) and
//	   not process.executable == "/usr/bin/apt-listbugs"] by process.parent.entity_id
//
// host.os.type == "linux" and event.type == "start" are implied: the sensor
// runs only on Linux and emits only exec and connect events as they start
// (an execve that succeeded, a connect() attempt), so they are not checked.
func AptNetcon() *Rule {
	return &Rule{
		ID:   AptNetconID,
		Name: "Suspicious APT Package Manager Network Connection",
		Description: "A shell that the apt binary started with -c (how apt runs " +
			"configured hooks such as APT::Update::Pre-Invoke or DPkg::Post-Invoke) " +
			"had a child that tried to connect to a non-local address within five " +
			"seconds. An attacker who can write to /etc/apt/apt.conf.d can plant such " +
			"a hook to download a payload or call back to a controller every time an " +
			"administrator or a timer runs apt, which turns routine package " +
			"maintenance into a persistence mechanism. Check the hook's command line " +
			"and the files under /etc/apt that define it.",
		Severity:  "medium",
		Version:   10,
		RiskScore: 47,
		MaxSpan:   5 * time.Second,
		Threat:    aptNetconThreat(),
		// The alert message (package alert's template syntax).
		Message: "{{rule.name}}: {{process.name}} (pid {{process.pid}}) run by {{process.parent.name}} " +
			"(pid {{process.parent.pid}}) had child {{last.process.name}} (pid {{last.process.pid}}) " +
			"attempt a connection to {{last.destination}}",
		References: []string{
			"https://www.elastic.co/security-labs/sequel-on-persistence-mechanisms",
			"https://attack.mitre.org/techniques/T1546/016/",
			"https://attack.mitre.org/techniques/T1059/004/",
		},
		Steps: []Step{
			{Name: "shell started by apt with -c", Filter: isAptHookShell, By: processEntityID},
			{Name: "remote connection attempt", Filter: isRemoteConnectAttempt, By: parentEntityID},
		},
	}
}

// aptHookShells is the process.name list of event 1. Names are comm values,
// so "/bin/sh" is "sh" even where it is dash (symlinks are not resolved).
var aptHookShells = []string{"bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish"}

// isAptHookShell is event 1. EQL `==` and `in` on keyword fields are
// case-sensitive, and `field == value` on a multi-valued field such as
// process.args is true when any element equals value.
func isAptHookShell(ev *Event) bool {
	return ev.Action == ActionExec &&
		ev.Process.Parent.Name == "apt" &&
		slices.Contains(ev.Process.Args, "-c") &&
		slices.Contains(aptHookShells, ev.Process.Name) &&
		!slices.Contains(ev.Process.Args, "/usr/bin/apt-listbugs apt")
}

// isRemoteConnectAttempt is event 2. An event with no executable is not
// "/usr/bin/apt-listbugs", so it passes that clause, as a document without
// the field passes a must_not term query in Elasticsearch.
func isRemoteConnectAttempt(ev *Event) bool {
	return ev.Action == ActionConnectionAttempt &&
		ev.Process.Executable != "/usr/bin/apt-listbugs" &&
		destinationIsRemote(ev.Destination.Addr())
}

// processEntityID is the join key "by process.entity_id".
func processEntityID(ev *Event) string { return ev.Process.EntityID }

// parentEntityID is the join key "by process.parent.entity_id".
func parentEntityID(ev *Event) string { return ev.Process.Parent.EntityID }

// aptNetconThreat is the rule's MITRE ATT&CK mapping, grouped the way
// upstream version 10 groups it: the three techniques of the original rule
// plus T1546.016 under Persistence, Command and Control and Defense Evasion
// without techniques, and T1059.004 under Execution (upstream maps T1059 to
// TA0002 Execution, a fourth tactic the rule's tags do not name).
func aptNetconThreat() []Threat {
	const framework = "MITRE ATT&CK"
	return []Threat{
		{
			Framework: framework,
			Tactic:    tactic("TA0003", "Persistence"),
			Techniques: []Technique{
				technique("T1543", "Create or Modify System Process"),
				technique("T1546", "Event Triggered Execution",
					subtechnique("T1546", "016", "Installer Packages")),
				technique("T1574", "Hijack Execution Flow"),
			},
		},
		{Framework: framework, Tactic: tactic("TA0011", "Command and Control")},
		{Framework: framework, Tactic: tactic("TA0005", "Defense Evasion")},
		{
			Framework: framework,
			Tactic:    tactic("TA0002", "Execution"),
			Techniques: []Technique{
				technique("T1059", "Command and Scripting Interpreter",
					subtechnique("T1059", "004", "Unix Shell")),
			},
		},
	}
}

// tactic builds a Tactic with its attack.mitre.org reference.
func tactic(id, name string) Tactic {
	return Tactic{ID: id, Name: name, Reference: "https://attack.mitre.org/tactics/" + id + "/"}
}

// technique builds a Technique with its attack.mitre.org reference.
func technique(id, name string, subs ...Subtechnique) Technique {
	return Technique{ID: id, Name: name, Reference: "https://attack.mitre.org/techniques/" + id + "/", Subtechniques: subs}
}

// subtechnique builds the Subtechnique parent.num (T1546.016) with its
// reference, which ATT&CK spells as a path (techniques/T1546/016/).
func subtechnique(parent, num, name string) Subtechnique {
	return Subtechnique{
		ID:        parent + "." + num,
		Name:      name,
		Reference: "https://attack.mitre.org/techniques/" + parent + "/" + num + "/",
	}
}
