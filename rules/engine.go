package rules

import (
	"fmt"
	"time"

	"github.com/aptsentinel/aptsentinel/eql"
)

// DefaultMaxPending is the pending-sequence bound used when
// EngineConfig.MaxPending is zero. A pending sequence costs a few hundred
// bytes plus its events' argv, so the default stays in the tens of MB even
// under a flood of matching first events.
const DefaultMaxPending = eql.DefaultMaxPending

// DefaultLateness is the allowed lateness of events when
// EngineConfig.Lateness is zero (see eql.DefaultLateness: it covers a
// blocking connect() with Linux's default SYN retries).
const DefaultLateness = eql.DefaultLateness

// NoLateness, as EngineConfig.Lateness, expires a sequence as soon as event
// time passes its window.
const NoLateness = eql.NoLateness

// EngineConfig tunes an Engine.
type EngineConfig struct {
	// MaxPending bounds the pending sequences over all rules; when the table
	// is full, starting a new sequence drops the one closest to expiry and
	// counts it in EngineStats.Evicted. Zero means DefaultMaxPending.
	MaxPending int
	// Lateness is how long after its window a pending sequence is kept for
	// records that arrive late but are stamped inside it; an unrelated later
	// event does not expire it sooner. Zero means DefaultLateness.
	Lateness time.Duration
}

// Match is one completed rule.
type Match struct {
	Rule *Rule
	// Events are the matched events in sequence order (Events[i] matched
	// step i). They are deep copies: they share no memory with the
	// events given to Process, so the caller may reuse its buffers.
	Events []Event
	// Lineage is the chain from the last event's process up to the first
	// one's (see Lineage), for alerts that say how the two are related.
	Lineage []Ancestor
	// Finding is set on the alerts of TypeSensor rules: what the sensor
	// found (JSON values, such as the tamper or the loss report by name),
	// written as the alert's aptsentinel object. Nil for engine matches.
	Finding map[string]any
}

// EngineStats counts what the engine did since it was created; see
// eql.Stats for the accounting.
type EngineStats = eql.Stats

// Engine runs rules over a stream of events with Elasticsearch EQL
// semantics (package eql). Time is event time (Event.Time), not the wall
// clock, except in Expire. An Engine is not safe for concurrent use: one
// goroutine feeds it.
type Engine struct {
	rules  []*Rule
	runner *eql.Runner[Event]
}

// NewEngine returns an engine for rules, refusing invalid or duplicate
// rules with an error that wraps ErrInvalidRule.
func NewEngine(rules []*Rule, cfg EngineConfig) (*Engine, error) {
	rules = matched(rules)
	qs, err := queries(rules)
	if err != nil {
		return nil, err
	}
	r, err := eql.NewRunner(qs, eql.RunnerConfig{MaxPending: cfg.MaxPending, Lateness: cfg.Lateness})
	if err != nil {
		return nil, fmt.Errorf("rules: engine: %w", err)
	}
	return &Engine{rules: rules, runner: r}, nil
}

// matched leaves out the rules the sensor raises itself (TypeSensor): they
// have no query, so the engine has nothing to run for them.
func matched(rules []*Rule) []*Rule {
	out := make([]*Rule, 0, len(rules))
	for _, r := range rules {
		if r == nil || r.Type != TypeSensor {
			out = append(out, r)
		}
	}
	return out
}

func queries(rules []*Rule) ([]*eql.Query[Event], error) {
	seen := make(map[string]bool, len(rules))
	qs := make([]*eql.Query[Event], 0, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rules: engine: %w", err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rules: engine: rule %s given twice: %w", r.ID, ErrInvalidRule)
		}
		seen[r.ID] = true
		qs = append(qs, r.Query)
	}
	return qs, nil
}

// Reload replaces the engine's rules. A rule whose id and loaded content
// (metadata, query, exceptions) did not change keeps its pending sequences;
// the others start afresh. On error the engine keeps its rules.
func (e *Engine) Reload(rules []*Rule) error {
	rules = matched(rules)
	old := make(map[string]*Rule, len(e.rules))
	for _, r := range e.rules {
		old[r.ID] = r
	}
	next := make([]*Rule, len(rules))
	for i, r := range rules {
		if o := old[r.ID]; o != nil && r != nil && o.fingerprint != "" && o.fingerprint == r.fingerprint {
			r = o
		}
		next[i] = r
	}
	qs, err := queries(next)
	if err != nil {
		return err
	}
	e.runner.Reload(qs)
	e.rules = next
	return nil
}

// Rules returns the rules the engine runs (no TypeSensor rule).
func (e *Engine) Rules() []*Rule { return e.rules }

// Process runs every rule on ev and returns the matches it completes.
func (e *Engine) Process(ev *Event) []Match {
	if ev == nil {
		return nil
	}
	ms := e.runner.Process(ev)
	if len(ms) == 0 {
		return nil
	}
	out := make([]Match, len(ms))
	for i, m := range ms {
		out[i] = Match{Rule: e.rules[m.Query], Events: m.Events, Lineage: Lineage(m.Events)}
	}
	return out
}

// Expire drops the pending sequences whose window, plus the allowed
// lateness, ended before now. The sensor calls it periodically with the
// wall clock, so state does not linger when events stop.
func (e *Engine) Expire(now time.Time) { e.runner.Expire(now) }

// Stats returns the engine's counters.
func (e *Engine) Stats() EngineStats { return e.runner.Stats() }
