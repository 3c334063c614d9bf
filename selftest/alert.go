package selftest

import (
	"encoding/json"
	"net/netip"
)

// ruleID is the rule the staged chain trips: "Suspicious APT Package
// Manager Network Connection".
const ruleID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

// alertDoc holds the fields of an alert line that tie it to the trigger.
type alertDoc struct {
	Rule struct {
		ID string `json:"id"`
	} `json:"rule"`
	Process struct {
		PID    int `json:"pid"`
		Parent struct {
			PID int `json:"pid"`
		} `json:"parent"`
	} `json:"process"`
	Destination *struct {
		IP   string `json:"ip"`
		Port uint16 `json:"port"`
	} `json:"destination"`
	Events []struct {
		Process struct {
			PID int `json:"pid"`
		} `json:"process"`
	} `json:"events"`
}

// parseAlertDoc decodes an alert line; ok is false when b is not an alert
// of the rule.
func parseAlertDoc(b []byte) (alertDoc, bool) {
	var d alertDoc
	if err := json.Unmarshal(b, &d); err != nil || d.Rule.ID != ruleID {
		return alertDoc{}, false
	}
	return d, true
}

// matches reports whether the alert is the one the trigger should raise:
// the staged shell run by the staged apt, whose child (the connector)
// attempted the connection to the test destination.
func (d alertDoc) matches(rep triggerReport) bool {
	if d.Process.PID != rep.shellPID || d.Process.Parent.PID != rep.aptPID ||
		d.Destination == nil || d.Destination.Port != rep.dest.Port() || len(d.Events) == 0 {
		return false
	}
	ip, err := netip.ParseAddr(d.Destination.IP)
	return err == nil && ip == rep.dest.Addr() && d.Events[len(d.Events)-1].Process.PID == rep.connectPID
}
