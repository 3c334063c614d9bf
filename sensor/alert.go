package sensor

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

// Alert is one alert line: an ECS document. Field names follow ECS and
// Elastic Security's alert documents, so an alert from aptsentinel reads like
// the one Elastic Defend would have raised for the same sequence.
type Alert struct {
	Timestamp   string          `json:"@timestamp"`
	Message     string          `json:"message"`
	Event       alertEvent      `json:"event"`
	Rule        alertRule       `json:"rule"`
	Threat      alertThreat     `json:"threat"`
	Host        alertHost       `json:"host"`
	Process     ecsProcess      `json:"process"`
	Destination *ecsDestination `json:"destination,omitempty"`
	Network     *ecsNetwork     `json:"network,omitempty"`
	// Events are the matched events in sequence order.
	Events []ecsEvent `json:"events"`
}

type alertEvent struct {
	Kind      string   `json:"kind"`
	Category  []string `json:"category"`
	Type      []string `json:"type"`
	Severity  int      `json:"severity"`
	RiskScore int      `json:"risk_score"`
	Module    string   `json:"module"`
	Dataset   string   `json:"dataset"`
	Created   string   `json:"created"`
}

type alertRule struct {
	ID          string   `json:"id"`
	UUID        string   `json:"uuid"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Description string   `json:"description"`
	Ruleset     string   `json:"ruleset"`
	Reference   []string `json:"reference,omitempty"`
	// Severity is the rule's severity label ("medium"); ECS has no field
	// for the label, event.severity carries the number.
	Severity string `json:"severity"`
}

type alertHost struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	OS   struct {
		Type string `json:"type"`
	} `json:"os"`
}

type ecsParent struct {
	PID        int      `json:"pid"`
	EntityID   string   `json:"entity_id,omitempty"`
	Name       string   `json:"name,omitempty"`
	Executable string   `json:"executable,omitempty"`
	Args       []string `json:"args,omitempty"`
}

type ecsProcess struct {
	PID              int       `json:"pid"`
	EntityID         string    `json:"entity_id"`
	Name             string    `json:"name"`
	Executable       string    `json:"executable,omitempty"`
	Args             []string  `json:"args,omitempty"`
	ArgsCount        int       `json:"args_count,omitempty"`
	CommandLine      string    `json:"command_line,omitempty"`
	WorkingDirectory string    `json:"working_directory,omitempty"`
	User             *ecsUser  `json:"user,omitempty"`
	Parent           ecsParent `json:"parent"`
}

type ecsUser struct {
	ID string `json:"id"`
}

type ecsDestination struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

type ecsNetwork struct {
	Type string `json:"type"`
}

type ecsEventMeta struct {
	Kind     string   `json:"kind"`
	Action   string   `json:"action"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Outcome  string   `json:"outcome,omitempty"`
}

// ecsEvent is one matched event inside an alert, a full ECS event.
type ecsEvent struct {
	Timestamp string       `json:"@timestamp"`
	Event     ecsEventMeta `json:"event"`
	Host      struct {
		ID string `json:"id"`
	} `json:"host"`
	Process     ecsProcess      `json:"process"`
	Destination *ecsDestination `json:"destination,omitempty"`
	Network     *ecsNetwork     `json:"network,omitempty"`
	Error       *ecsError       `json:"error,omitempty"`
}

type ecsError struct {
	Code string `json:"code"`
}

// timeFormat is RFC 3339 with milliseconds, the audit timestamp resolution.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewAlert builds the alert for a match. The alert's process is the shell
// (the first event's process), its destination the connect's (the last
// event's), as Elastic's alert for this rule shows them.
func NewAlert(m rules.Match, host Host, now time.Time) Alert {
	r := m.Rule
	first, last := m.Events[0], m.Events[len(m.Events)-1]
	a := Alert{
		Timestamp: last.Time.UTC().Format(timeFormat),
		Event: alertEvent{
			Kind:      "alert",
			Category:  []string{"process", "network"},
			Type:      []string{"start", "connection"},
			Severity:  r.RiskScore,
			RiskScore: r.RiskScore,
			Module:    "aptsentinel",
			Dataset:   "aptsentinel.alerts",
			Created:   now.UTC().Format(timeFormat),
		},
		Rule: alertRule{
			ID:          r.ID,
			UUID:        r.ID,
			Name:        r.Name,
			Version:     strconv.Itoa(r.Version),
			Description: r.Description,
			Ruleset:     "elastic/detection-rules",
			Reference:   r.References,
			Severity:    r.Severity,
		},
		Threat:  newThreat(r.Threat),
		Process: newECSProcess(first.Process),
	}
	a.Host.ID, a.Host.Name, a.Host.OS.Type = host.ID, host.Name, "linux"
	a.Destination, a.Network = newDestination(last.Destination)
	a.Message = fmt.Sprintf("%s: %s (pid %d) run by %s (pid %d) had child %s (pid %d) attempt a connection to %s",
		r.Name, first.Process.Name, first.Process.PID, first.Process.Parent.Name, first.Process.Parent.PID,
		last.Process.Name, last.Process.PID, destinationText(last.Destination))
	for _, ev := range m.Events {
		a.Events = append(a.Events, newECSEvent(ev))
	}
	return a
}

// MarshalLine returns the alert as one JSON line, without the newline.
// encoding/json escapes control characters and replaces invalid UTF-8, so
// attacker-chosen argv or paths cannot break the line.
func (a Alert) MarshalLine() ([]byte, error) {
	return json.Marshal(a)
}

func newECSProcess(p rules.Process) ecsProcess {
	out := ecsProcess{
		PID:              p.PID,
		EntityID:         p.EntityID,
		Name:             p.Name,
		Executable:       p.Executable,
		Args:             p.Args,
		ArgsCount:        len(p.Args),
		CommandLine:      commandLine(p.Args),
		WorkingDirectory: p.WorkingDir,
		User:             &ecsUser{ID: strconv.FormatUint(uint64(p.UID), 10)},
		Parent: ecsParent{
			PID:        p.Parent.PID,
			EntityID:   p.Parent.EntityID,
			Name:       p.Parent.Name,
			Executable: p.Parent.Executable,
			Args:       p.Parent.Args,
		},
	}
	return out
}

func newECSEvent(ev rules.Event) ecsEvent {
	out := ecsEvent{
		Timestamp: ev.Time.UTC().Format(timeFormat),
		Process:   newECSProcess(ev.Process),
	}
	out.Host.ID = ev.HostID
	out.Event = ecsEventMeta{Kind: "event", Action: ev.Action, Outcome: ev.Outcome}
	switch ev.Action {
	case rules.ActionExec:
		out.Event.Category, out.Event.Type = []string{"process"}, []string{"start"}
	case rules.ActionConnectionAttempt:
		out.Event.Category, out.Event.Type = []string{"network"}, []string{"start", "connection"}
		out.Destination, out.Network = newDestination(ev.Destination)
	}
	if ev.Errno != "" {
		out.Error = &ecsError{Code: ev.Errno}
	}
	return out
}

func newDestination(d netip.AddrPort) (*ecsDestination, *ecsNetwork) {
	if !d.IsValid() {
		return nil, nil
	}
	addr := d.Addr().Unmap()
	typ := "ipv4"
	if addr.Is6() {
		typ = "ipv6"
	}
	return &ecsDestination{IP: addr.String(), Port: d.Port()}, &ecsNetwork{Type: typ}
}

func destinationText(d netip.AddrPort) string {
	if !d.IsValid() {
		return "an unknown address"
	}
	return netip.AddrPortFrom(d.Addr().Unmap(), d.Port()).String()
}

// commandLine joins argv with spaces, as ECS process.command_line does; it
// is for reading, process.args is the exact value.
func commandLine(args []string) string {
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	b := make([]byte, 0, n)
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	return string(b)
}
