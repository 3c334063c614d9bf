package audit

import (
	"fmt"
	"strings"
)

// TamperKind names a change of the audit configuration that works
// against the sensor.
type TamperKind string

const (
	TamperRulesRemoved  TamperKind = "rules_removed"   // a rule with the sensor's key was deleted
	TamperAuditDisabled TamperKind = "audit_disabled"  // enabled set to 0
	TamperPIDTaken      TamperKind = "audit_pid_taken" // another process replaced the sensor as audit PID
	TamperShadowingRule TamperKind = "shadowing_rule"  // a rule now hides syscalls the sensor needs
)

// Tamper is one such change: what happened and, from the CONFIG_CHANGE
// record, who did it. It is the data of the alert "Sensor audit
// configuration tampered with" (5dafd08a-7e57-4cf0-8adc-bb9c515fcda4).
type Tamper struct {
	Kind TamperKind `json:"kind"`
	What string     `json:"what"`
	// Change is the record that made it (for a shadowing rule: the last
	// rule added before the shadow was seen; zero if none was seen).
	Change ConfigChange `json:"change"`
	// Count is how many such changes one syscall made (auditctl -D
	// removes each rule with a record of its own).
	Count int `json:"count"`
	// Shadowed lists the needs a shadowing rule hides.
	Shadowed []NeedCoverage `json:"shadowed,omitempty"`
}

// Changer describes the process behind the change for a log line.
func (t Tamper) Changer() string {
	c := t.Change
	if c.Op == "" {
		return "unknown (no CONFIG_CHANGE record seen)"
	}
	var b strings.Builder
	if c.HaveProcess {
		fmt.Fprintf(&b, "pid %d (%s, %s), parent pid %d", c.PID, c.Comm, c.Exe, c.PPID)
	} else {
		b.WriteString("process unknown (its syscall was not recorded)")
	}
	fmt.Fprintf(&b, ", auid %s, ses %s", idText(c.AUID), idText(c.Ses))
	return b.String()
}

func idText(id uint32) string {
	if id == unsetID {
		return "unset"
	}
	return fmt.Sprint(id)
}

// DetectTamper judges one configuration change for a sensor whose rules
// carry key and whose pid is self. Refused changes (res=0) are not
// tampering; a daemon taking a free audit PID (old=0) is not either: that
// is auditd starting after the sensor handed the PID over.
func DetectTamper(c ConfigChange, key string, self uint32) (Tamper, bool) {
	if c.Result == 0 {
		return Tamper{}, false
	}
	t := Tamper{Change: c}
	switch {
	case c.Op == "remove_rule" && c.Key == key:
		t.Kind, t.What = TamperRulesRemoved, fmt.Sprintf("an audit rule with the sensor's key %q was removed", key)
	case c.Setting == "audit_enabled" && c.Value == enabledOff && (!c.HaveValueOld || c.Old != enabledOff):
		t.Kind, t.What = TamperAuditDisabled, "kernel audit was turned off (enabled 0)"
	case c.Setting == "audit_pid" && c.Value != 0 && c.Value != uint64(self) && c.HaveValueOld && c.Old == uint64(self):
		t.Kind, t.What = TamperPIDTaken, fmt.Sprintf("pid %d replaced the sensor (pid %d) as the audit daemon", c.Value, self)
	default:
		return Tamper{}, false
	}
	return t, true
}

// newShadows returns the needs that were seen in old and are shadowed
// (wholly or partly) in now. Missing needs are the sensor's own rules
// gone, reported as TamperRulesRemoved instead.
func newShadows(old, now []NeedCoverage) []NeedCoverage {
	was := map[string]string{}
	for _, c := range old {
		was[c.Name] = c.Verdict
	}
	var out []NeedCoverage
	for _, c := range now {
		if c.Verdict != Shadowed && c.Verdict != PartlyShadowed {
			continue
		}
		if v, ok := was[c.Name]; ok && v == c.Verdict {
			continue
		}
		out = append(out, c)
	}
	return out
}
