package alert

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

// Alert is one alert line: an ECS document. Field names follow ECS and
// Elastic Security's alert documents, so an alert from aptsentinel reads like
// the one Elastic Defend would have raised for the same sequence
// (DESIGN.md, "Contracts").
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
	File        *ecsFile        `json:"file,omitempty"`
	// Aptsentinel holds what the sensor found for its own rules
	// (aptsentinel.tamper, aptsentinel.losses): ECS has no fields for
	// them (rules.Match.Finding); and, for a sequence whose last process
	// descends from its first, aptsentinel.lineage (lineage.go).
	Aptsentinel map[string]any `json:"aptsentinel,omitempty"`
	// Events are the matched events in sequence order.
	Events []ecsEvent `json:"events"`
}

// Host is the ECS host object of every alert.
type Host struct {
	ID   string // host.id: the machine id
	Name string // host.name: the kernel's hostname
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

// timeFormat is RFC 3339 with milliseconds, the audit timestamp resolution.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// New builds the alert for a match of any rule. The alert's process is the
// first event's (for the APT rules: the hook shell), its destination and
// network the last event's when that is a network event, its file the
// last file event's; event.category and event.type are those of the
// matched events, in order, each once. A match without events (the engine
// never makes one) gives an alert with the rule and host only.
func New(m rules.Match, host Host, now time.Time) Alert {
	r := m.Rule
	if r == nil {
		r = &rules.Rule{}
	}
	a := Alert{
		Event: alertEvent{
			Kind:      "alert",
			Category:  []string{},
			Type:      []string{},
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
		Threat:      newThreat(r.Threat),
		Aptsentinel: withLineage(m.Finding, m.Lineage),
		Events:      make([]ecsEvent, 0, len(m.Events)),
	}
	a.Host.ID, a.Host.Name, a.Host.OS.Type = host.ID, host.Name, "linux"
	for i := range m.Events {
		ev := newECSEvent(&m.Events[i])
		for _, c := range ev.Event.Category {
			if !slices.Contains(a.Event.Category, c) {
				a.Event.Category = append(a.Event.Category, c)
			}
		}
		for _, t := range ev.Event.Type {
			if !slices.Contains(a.Event.Type, t) {
				a.Event.Type = append(a.Event.Type, t)
			}
		}
		if ev.File != nil {
			a.File = ev.File
		}
		a.Events = append(a.Events, ev)
	}
	// A rule may say how its alert is classed ([aptsentinel] event_category,
	// event_type); else the matched events' classes stand.
	if len(r.AlertCategory) > 0 {
		a.Event.Category = r.AlertCategory
	}
	if len(r.AlertType) > 0 {
		a.Event.Type = r.AlertType
	}
	if n := len(a.Events); n > 0 {
		first, last := &a.Events[0], &a.Events[n-1]
		a.Timestamp = last.Timestamp
		a.Process = first.Process
		a.Destination, a.Network = last.Destination, last.Network
	} else {
		a.Timestamp = a.Event.Created
	}
	a.Message = renderMessage(r.Message, &a)
	return a
}

// MarshalLine returns the alert as one JSON line, without the newline.
// encoding/json escapes control characters and replaces invalid UTF-8, so
// attacker-chosen argv or paths cannot break the line.
func (a Alert) MarshalLine() ([]byte, error) {
	return json.Marshal(a)
}
