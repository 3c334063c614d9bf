package rules

import (
	"errors"
	"fmt"
	"time"

	"github.com/aptsentinel/aptsentinel/eql"
)

// Rule is one detection rule: its metadata (named like the fields of an
// Elastic detection rule, so an alert can carry them as rule.* and
// threat.*) and its compiled EQL query.
type Rule struct {
	ID          string // rule_id, a UUID
	Name        string
	Description string
	Severity    string // "low", "medium", "high" or "critical"
	Version     int
	RiskScore   int // 0-100
	// MaxSpan is the sequence's maxspan: every event of a match is at most
	// MaxSpan after the first one (inclusive bound, as in EQL); 0 for an
	// event query or a sequence without maxspan.
	MaxSpan    time.Duration
	Threat     []Threat
	References []string
	// Message is the alert message template of the rule file's own block
	// ([aptsentinel] message): {{field.name}} is filled from the first
	// event of the match, {{last.field.name}} from the last one, and
	// {{rule.name}}/{{rule.id}} from the rule; package alert renders it. Empty
	// means the alert stage's generic message.
	Message string
	// AlertCategory and AlertType are the alert's event.category and
	// event.type ([aptsentinel] event_category, event_type); empty means the
	// union of the matched events'.
	AlertCategory, AlertType []string

	// Type is the rule file's type: TypeEQL, or TypeSensor for a rule the
	// sensor raises itself (its own alerts: tampering, lost events). A
	// sensor rule has no query; the engine skips it, and it is listed,
	// disabled by id and rendered like any other rule.
	Type string

	// Query is the compiled query (nil for a TypeSensor rule); QueryText
	// its source.
	Query     *eql.Query[Event]
	QueryText string
	// Source is the file the rule was loaded from, or "builtin" for a rule
	// embedded in the binary.
	Source string
	// Exceptions are the rules.d exceptions compiled into Query.
	Exceptions []Exception

	// fingerprint identifies the rule's loaded content (metadata, query and
	// exceptions), so a reload keeps the state of a rule that did not change.
	fingerprint string
}

// Rule types (the rule file's [rule] type).
const (
	TypeEQL = "eql"
	// TypeSensor is a rule the sensor raises from its own state, not from
	// matched events (rules/sensor_rules.go).
	TypeSensor = "sensor"
)

// Exception is an admin's `and not (condition)` added to a rule's steps.
type Exception struct {
	RuleID    string
	Step      int // 1-based step of a sequence; 0 for every step
	Condition string
	Reason    string
	Source    string // FILE:LINE of the exception
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
	if r.Query == nil && r.Type != TypeSensor {
		return fmt.Errorf("rules: rule %s: no compiled query: %w", r.ID, ErrInvalidRule)
	}
	return nil
}
