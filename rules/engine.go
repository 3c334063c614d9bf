package rules

import (
	"fmt"
	"slices"
	"time"
)

// DefaultMaxPending is the pending-sequence bound used when
// EngineConfig.MaxPending is zero. A pending sequence costs a few hundred
// bytes plus its event's argv, so the default stays in the tens of MB even
// under a flood of matching first events.
const DefaultMaxPending = 65536

// EngineConfig tunes an Engine.
type EngineConfig struct {
	// MaxPending bounds the pending sequences over all rules; when the table
	// is full, starting a new sequence drops the one closest to expiry and
	// counts it in EngineStats.Evicted. Zero means DefaultMaxPending.
	MaxPending int
}

// Match is one completed sequence.
type Match struct {
	Rule *Rule
	// Events are the matched events in sequence order (Events[i] matched
	// Rule.Steps[i]). They are deep copies: they share no memory with the
	// events given to Process, so the caller may reuse its buffers.
	Events []Event
}

// EngineStats counts what the engine did since it was created. Every
// sequence that started ends in exactly one of Matches, Replaced, Expired or
// Evicted, or is still Pending.
type EngineStats struct {
	Pending  int    // sequences started and not yet complete, expired or dropped
	Started  uint64 // first steps matched
	Matches  uint64 // sequences completed
	Replaced uint64 // pending sequences superseded by a newer first event for the same key
	Expired  uint64 // pending sequences dropped because maxspan passed
	Evicted  uint64 // pending sequences dropped because the table was full
	// Unkeyed counts events that passed a step's filter but had an empty
	// join key (for example no entity id), so could not start or join.
	Unkeyed uint64
}

// Engine runs sequence rules over a stream of events with the semantics of
// Elastic EQL `sequence by host.id with maxspan=D [..] by k1 [..] by k2`:
//
//   - events join when their HostID and step join keys are equal;
//   - maxspan is inclusive: the last event is at most MaxSpan after the
//     first; an event earlier than the previous step's event never follows it;
//   - there is at most one pending sequence per rule, step and key: a newer
//     first event replaces the older pending sequence (its clock restarts);
//   - a completed sequence is removed, so it alerts once; the same key alerts
//     again only after a new first event;
//   - pending sequences past maxspan are dropped, lazily as event time moves
//     and on Expire.
//
// Time is event time (Event.Time), not the wall clock, except in Expire.
// An Engine is not safe for concurrent use: one goroutine feeds it.
type Engine struct {
	rules      []ruleState
	maxPending int
	// oldest and newest are the ends of a list of all pending sequences
	// ordered by deadline, so expiry and eviction look only at the front.
	oldest, newest *pending
	stats          EngineStats
}

// ruleState is a rule with its pending sequences.
type ruleState struct {
	rule *Rule
	// waiting[i] holds the sequences whose last matched step is i, by key.
	waiting []map[seqKey]*pending
}

// seqKey is the join key of a sequence: host.id and the steps' "by" value.
// A struct of strings keeps map lookups free of allocation.
type seqKey struct {
	host, join string
}

// pending is a sequence that matched steps 0..stage and waits for the next.
type pending struct {
	rule     *ruleState
	stage    int
	key      seqKey
	deadline time.Time // first event's time + MaxSpan: the last instant a later step may have
	events   []Event   // events[i] matched step i; copies owned by the engine
	prev     *pending  // earlier deadline
	next     *pending  // later deadline
}

// NewEngine returns an engine for rules, refusing invalid or duplicate
// rules with an error that wraps ErrInvalidRule.
func NewEngine(rules []*Rule, cfg EngineConfig) (*Engine, error) {
	if cfg.MaxPending < 0 {
		return nil, fmt.Errorf("rules: engine: negative MaxPending %d", cfg.MaxPending)
	}
	e := &Engine{maxPending: cfg.MaxPending}
	if e.maxPending == 0 {
		e.maxPending = DefaultMaxPending
	}
	seen := make(map[string]bool, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rules: engine: %w", err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rules: engine: rule %s given twice: %w", r.ID, ErrInvalidRule)
		}
		seen[r.ID] = true
		st := ruleState{rule: r, waiting: make([]map[seqKey]*pending, len(r.Steps)-1)}
		for i := range st.waiting {
			st.waiting[i] = make(map[seqKey]*pending)
		}
		e.rules = append(e.rules, st)
	}
	return e, nil
}

// Process feeds one event to every rule and returns the sequences it
// completes, nil if none. An event that passes no step's filter costs the
// filter calls and no allocation. Process does not retain ev.
func (e *Engine) Process(ev *Event) []Match {
	if ev == nil {
		return nil
	}
	e.expire(ev.Time)
	var out []Match
	for ri := range e.rules {
		rs := &e.rules[ri]
		// Later steps first, as EQL does, so one event cannot both start a
		// sequence and complete that same sequence.
		for si := len(rs.rule.Steps) - 1; si >= 0; si-- {
			step := &rs.rule.Steps[si]
			if !step.Filter(ev) {
				continue
			}
			join := step.By(ev)
			if join == "" {
				e.stats.Unkeyed++
				continue
			}
			key := seqKey{host: ev.HostID, join: join}
			if si == 0 {
				e.start(rs, key, ev)
				continue
			}
			if m, ok := e.advance(rs, si, key, ev); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// start begins a sequence at step 0 for key, replacing a pending one.
func (e *Engine) start(rs *ruleState, key seqKey, ev *Event) {
	e.stats.Started++
	if old := rs.waiting[0][key]; old != nil {
		e.stats.Replaced++
		// The newer first event wins; one that arrives late with an older
		// timestamp is the one discarded (and counted as replaced).
		if ev.Time.Before(old.events[0].Time) {
			return
		}
		e.remove(old)
	}
	if e.stats.Pending >= e.maxPending {
		e.stats.Evicted++
		e.remove(e.oldest)
	}
	p := &pending{
		rule:     rs,
		key:      key,
		deadline: ev.Time.Add(rs.rule.MaxSpan),
		events:   make([]Event, 1, len(rs.rule.Steps)),
	}
	p.events[0] = cloneEvent(ev)
	rs.waiting[0][key] = p
	e.link(p)
}

// advance joins ev as step si to the sequence waiting for it under key, and
// returns the match if that was the last step.
func (e *Engine) advance(rs *ruleState, si int, key seqKey, ev *Event) (Match, bool) {
	p := rs.waiting[si-1][key]
	if p == nil {
		return Match{}, false
	}
	if ev.Time.Before(p.events[si-1].Time) {
		return Match{}, false // not after the previous step: not its successor
	}
	if ev.Time.After(p.deadline) {
		e.stats.Expired++
		e.remove(p)
		return Match{}, false
	}
	delete(rs.waiting[si-1], key)
	p.events = append(p.events, cloneEvent(ev))
	if si == len(rs.rule.Steps)-1 {
		e.unlink(p)
		e.stats.Matches++
		return Match{Rule: rs.rule, Events: p.events}, true
	}
	if old := rs.waiting[si][key]; old != nil {
		e.stats.Replaced++
		e.remove(old)
	}
	p.stage = si
	rs.waiting[si][key] = p
	return Match{}, false
}

// Expire drops the pending sequences whose maxspan ended before now. The
// sensor calls it periodically with the wall clock, so state does not
// linger when events stop; Process does the same with each event's time.
func (e *Engine) Expire(now time.Time) {
	e.expire(now)
}

func (e *Engine) expire(now time.Time) {
	for e.oldest != nil && e.oldest.deadline.Before(now) {
		e.stats.Expired++
		e.remove(e.oldest)
	}
}

// Stats returns the engine's counters.
func (e *Engine) Stats() EngineStats {
	return e.stats
}

// remove forgets a pending sequence entirely.
func (e *Engine) remove(p *pending) {
	delete(p.rule.waiting[p.stage], p.key)
	e.unlink(p)
}

// link inserts p into the deadline-ordered list. Events arrive nearly in
// time order, so the walk from the newest end is short.
func (e *Engine) link(p *pending) {
	after := e.newest
	for after != nil && after.deadline.After(p.deadline) {
		after = after.prev
	}
	p.prev = after
	if after == nil {
		p.next = e.oldest
		e.oldest = p
	} else {
		p.next = after.next
		after.next = p
	}
	if p.next == nil {
		e.newest = p
	} else {
		p.next.prev = p
	}
	e.stats.Pending++
}

// unlink takes p out of the deadline-ordered list.
func (e *Engine) unlink(p *pending) {
	if p.prev == nil {
		e.oldest = p.next
	} else {
		p.prev.next = p.next
	}
	if p.next == nil {
		e.newest = p.prev
	} else {
		p.next.prev = p.prev
	}
	p.prev, p.next = nil, nil
	e.stats.Pending--
}

// cloneEvent deep-copies ev: strings are immutable, but argv slices may be
// buffers the sensor reuses.
func cloneEvent(ev *Event) Event {
	c := *ev
	c.Process.Args = slices.Clone(ev.Process.Args)
	c.Process.Parent.Args = slices.Clone(ev.Process.Parent.Args)
	return c
}
