package rules

import (
	"errors"
	"fmt"
	"time"
)

// Rule is one sequence detection rule: its metadata (named like the fields
// of an Elastic detection rule, so an alert can carry them as rule.* and
// threat.*) and the ordered steps of its sequence.
//
// Every sequence is implicitly "by host.id": two events join only when their
// Event.HostID are equal and their step join keys are equal.
type Rule struct {
	ID          string // rule_id, a UUID
	Name        string
	Description string
	Severity    string // "low", "medium", "high" or "critical"
	Version     int
	RiskScore   int // 0-100
	// MaxSpan is the sequence's maxspan: every event of a match is at most
	// MaxSpan after the first one (inclusive bound, as in EQL).
	MaxSpan    time.Duration
	Threat     []Threat
	References []string
	// Message is the alert message template of the rule file's own block
	// (see package alert); empty means the alert stage's generic message.
	Message string
	// Steps are the sequence's events in order; a rule has at least two.
	Steps []Step
}

// Step is one bracketed event of an EQL sequence: `[filter] by key`.
type Step struct {
	// Name says in a few words what the step matches, for logs and tests.
	Name string
	// Filter reports whether an event satisfies the step's condition. It
	// must not retain or modify the event, and should not allocate: it runs
	// for every event the sensor sees.
	Filter func(*Event) bool
	// By returns the step's join key (the field after "by"). An empty key
	// means the field is missing: such an event never joins.
	By func(*Event) string
}

// Threat is one MITRE ATT&CK mapping of a rule: a tactic and the techniques
// the rule detects under it (ECS threat.*).
type Threat struct {
	Framework  string // "MITRE ATT&CK"
	Tactic     Tactic
	Techniques []Technique
}

// Tactic is an ATT&CK tactic (threat.tactic.*).
type Tactic struct {
	ID, Name, Reference string
}

// Technique is an ATT&CK technique (threat.technique.*) with the
// sub-techniques the rule maps under it.
type Technique struct {
	ID, Name, Reference string
	Subtechniques       []Subtechnique
}

// Subtechnique is an ATT&CK sub-technique (threat.technique.subtechnique.*).
type Subtechnique struct {
	ID, Name, Reference string
}

// ErrInvalidRule is wrapped by every error Validate returns.
var ErrInvalidRule = errors.New("invalid rule")

// Validate reports what is wrong with r, if anything: the engine refuses a
// rule it cannot run rather than failing on the first event.
func (r *Rule) Validate() error {
	if r == nil {
		return fmt.Errorf("rules: nil rule: %w", ErrInvalidRule)
	}
	if r.ID == "" || r.Name == "" {
		return fmt.Errorf("rules: rule %q (%q): empty id or name: %w", r.ID, r.Name, ErrInvalidRule)
	}
	if len(r.Steps) < 2 {
		return fmt.Errorf("rules: rule %s: a sequence needs at least 2 steps, got %d: %w", r.ID, len(r.Steps), ErrInvalidRule)
	}
	// A sequence without maxspan would keep every pending sequence until the
	// table bound evicts it; no rule of ours wants that, so it is refused.
	if r.MaxSpan <= 0 {
		return fmt.Errorf("rules: rule %s: maxspan %v is not positive: %w", r.ID, r.MaxSpan, ErrInvalidRule)
	}
	for i, s := range r.Steps {
		if s.Filter == nil || s.By == nil {
			return fmt.Errorf("rules: rule %s: step %d (%q) lacks a filter or join key: %w", r.ID, i, s.Name, ErrInvalidRule)
		}
	}
	return nil
}
