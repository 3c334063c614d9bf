package eql

import (
	"fmt"
	"slices"
	"time"
)

// Defaults of RunnerConfig.
const (
	// DefaultMaxPending bounds the pending sequences over all queries.
	DefaultMaxPending = 65536
	// DefaultLateness is how long after a sequence's window closes (by the
	// newest event time seen) its pending state is kept for records that
	// arrive late but are stamped inside the window. A blocking connect()
	// is audited when it returns, stamped with its start: with Linux's
	// default net.ipv4.tcp_syn_retries=6 it fails after about 127 s
	// (1+2+4+8+16+32+64 s), so 130 s covers it.
	DefaultLateness = 130 * time.Second
)

// NoLateness, as RunnerConfig.Lateness, expires sequences as soon as event
// time passes their window.
const NoLateness time.Duration = -1

// RunnerConfig tunes a Runner.
type RunnerConfig struct {
	// MaxPending bounds pending sequences; when full, starting one drops
	// the one closest to expiry (Stats.Evicted). Zero: DefaultMaxPending.
	MaxPending int
	// Lateness is the allowed lateness of events (see DefaultLateness).
	// Zero: DefaultLateness; NoLateness: none.
	Lateness time.Duration
}

// Match is one completed query: its index in the Runner's queries and the
// matched events in step order, copies owned by the caller.
type Match[E any] struct {
	Query  int
	Events []E
}

// Stats counts what a Runner did. Every sequence that started ends in
// exactly one of Matches (sequences), Replaced, Expired, Evicted, Until or
// Dropped, or is still Pending.
type Stats struct {
	Pending  int
	Started  uint64 // first steps of sequences matched
	Matches  uint64 // sequences completed
	Events   uint64 // event-query matches (no state)
	Replaced uint64 // superseded by a newer event for the same state and key
	Expired  uint64 // window and allowed lateness passed
	Evicted  uint64 // dropped because the table was full
	Until    uint64 // cleared by the until step
	Dropped  uint64 // dropped by Reload (their query changed or went)
	Unkeyed  uint64 // events that passed a step but had a null join key
}

// joinKey is the values of a step's join keys; an array keeps map lookups
// free of allocation.
type joinKey [maxKeys]string

// farFuture is the deadline of a sequence without maxspan.
var farFuture = time.Unix(1<<40, 0)

type pending[E any] struct {
	st         *qstate[E]
	stage      int
	key        joinKey
	deadline   time.Time
	first      time.Time // the first event's time
	last       time.Time // the latest matched step's time
	events     []E
	prev, next *pending[E]
}

type qstate[E any] struct {
	q       *Query[E]
	waiting []map[joinKey]*pending[E] // waiting[i]: matched steps 0..i
}

// Runner runs compiled queries over a stream of events with Elasticsearch
// EQL sequence semantics:
//   - events join when all their join keys are equal (sequence by + step by);
//     a later step's key with alternatives (`by a or b`, or a multi-valued
//     field: an aptsentinel extension) joins the pending sequence of each
//     of its values, so one event may complete several sequences;
//   - one pending sequence per state and key: a newer event reaching the same
//     state replaces the older (its clock restarts when it is the first);
//   - a completed sequence is cleared, so it matches once;
//   - maxspan is inclusive and counts event time (@timestamp): an event at
//     most maxspan after the first, and not before the previous step's;
//   - an until step's event clears the key's pending sequences;
//   - a pending sequence is kept until the newest event time, minus the
//     allowed lateness, passes its window, so a record that arrives late but
//     is stamped inside the window still completes it.
//
// A Runner is not safe for concurrent use.
type Runner[E any] struct {
	schema     *Schema[E]
	states     []*qstate[E]
	trackers   []*tracker[E]
	maxPending int
	lateness   time.Duration
	newest     time.Time // newest event time seen

	oldest, youngest *pending[E] // ordered by deadline
	stats            Stats
}

// NewRunner returns a runner for queries compiled with one schema.
func NewRunner[E any](queries []*Query[E], cfg RunnerConfig) (*Runner[E], error) {
	if cfg.MaxPending < 0 {
		return nil, fmt.Errorf("eql: runner: negative MaxPending %d", cfg.MaxPending)
	}
	r := &Runner[E]{maxPending: cfg.MaxPending, lateness: cfg.Lateness}
	if r.maxPending == 0 {
		r.maxPending = DefaultMaxPending
	}
	switch {
	case r.lateness == 0:
		r.lateness = DefaultLateness
	case r.lateness < 0:
		r.lateness = 0
	}
	r.Reload(queries)
	return r, nil
}

// Reload replaces the queries. The pending sequences of a query given
// again (the same *Query) are kept; those of the others are dropped.
func (r *Runner[E]) Reload(queries []*Query[E]) {
	old := r.states
	r.states, r.trackers = nil, nil
	kept := map[*qstate[E]]bool{}
	for _, q := range queries {
		if q == nil {
			continue
		}
		if r.schema == nil {
			r.schema = q.schema
		}
		i := slices.IndexFunc(old, func(s *qstate[E]) bool { return s.q == q })
		var st *qstate[E]
		if i >= 0 && !kept[old[i]] {
			st = old[i]
		} else {
			st = &qstate[E]{q: q, waiting: make([]map[joinKey]*pending[E], max(len(q.steps)-1, 0))}
			for j := range st.waiting {
				st.waiting[j] = map[joinKey]*pending[E]{}
			}
		}
		kept[st] = true
		r.states = append(r.states, st)
		r.trackers = append(r.trackers, q.trackers...)
	}
	for p := r.oldest; p != nil; {
		next := p.next
		if !kept[p.st] {
			r.stats.Dropped++
			r.remove(p)
		}
		p = next
	}
}

// Process runs every query on e and returns the matches it completes.
func (r *Runner[E]) Process(e *E) []Match[E] {
	if e == nil || r.schema == nil {
		return nil
	}
	s := r.schema
	t := s.Time(e)
	if t.After(r.newest) {
		r.newest = t
	}
	// The watermark: a sequence whose window closed more than the allowed
	// lateness before the newest event time cannot complete any more. It is
	// applied on every event, also to a sequence that started late.
	r.expire(r.newest.Add(-r.lateness))
	cat := s.Category(e)
	for _, tr := range r.trackers {
		tr.observe(e, cat)
	}
	var out []Match[E]
	for qi, st := range r.states {
		q := st.q
		if u := q.until; u != nil && r.stats.Pending > 0 && (u.category == "" || u.category == cat) {
			if key, ok := stepKey(u, e); ok && isTrue(u.cond(e)) {
				r.clearKey(st, key)
			}
		}
		// Later steps first, as EQL does, so one event cannot both start
		// a sequence and complete that same sequence.
		for si := len(q.steps) - 1; si >= 0; si-- {
			step := q.steps[si]
			if step.category != "" && step.category != cat {
				continue
			}
			if si == 0 {
				if !isTrue(step.cond(e)) {
					continue
				}
				key, ok := stepKey(step, e)
				if !ok {
					r.stats.Unkeyed++
					continue
				}
				if !q.Sequence {
					r.stats.Events++
					out = append(out, Match[E]{Query: qi, Events: []E{r.clone(e)}})
					continue
				}
				r.start(st, key, e, t)
				continue
			}
			if step.alt >= 0 {
				out = r.joinAny(st, qi, si, step, e, t, out)
				continue
			}
			key, ok := stepKey(step, e)
			if !ok {
				if isTrue(step.cond(e)) {
					r.stats.Unkeyed++
				}
				continue
			}
			p := st.waiting[si-1][key]
			if p == nil || t.Before(p.last) || t.After(p.deadline) || !isTrue(step.cond(e)) {
				continue
			}
			if m, ok := r.advance(st, si, p, e, t); ok {
				m.Query = qi
				out = append(out, m)
			}
		}
	}
	return out
}

// joinAny runs step si, whose join key st.alt has alternatives, on e: e
// joins every pending sequence whose key equals any of the key's values
// (in the order of the fields, each multi-valued field's values in order).
// A value given twice finds nothing the second time: advance moved its
// sequence on.
func (r *Runner[E]) joinAny(st *qstate[E], qi, si int, step *cstep[E], e *E, t time.Time, out []Match[E]) []Match[E] {
	key, ok := stepKey(step, e)
	if !ok {
		if isTrue(step.cond(e)) {
			r.stats.Unkeyed++
		}
		return out
	}
	keyed := false
	cond := 0 // 0 not evaluated yet, 1 true, -1 false or null
	try := func(v string) {
		if v == "" {
			return
		}
		keyed = true
		key[step.alt] = v
		p := st.waiting[si-1][key]
		if p == nil || t.Before(p.last) || t.After(p.deadline) {
			return
		}
		if cond == 0 {
			cond = -1
			if isTrue(step.cond(e)) {
				cond = 1
			}
		}
		if cond < 0 {
			return
		}
		if m, ok := r.advance(st, si, p, e, t); ok {
			m.Query = qi
			out = append(out, m)
		}
	}
	for _, a := range step.alts {
		if a.one != nil {
			if v, ok := a.one(e); ok {
				try(v)
			}
			continue
		}
		for _, v := range a.many(e) {
			try(v)
		}
	}
	if !keyed && isTrue(step.cond(e)) {
		r.stats.Unkeyed++
	}
	return out
}

// stepKey is e's join key for step st; the key with alternatives, if any,
// is left empty for joinAny to fill.
func stepKey[E any](st *cstep[E], e *E) (joinKey, bool) {
	var k joinKey
	for i, f := range st.keys {
		if i == st.alt {
			continue
		}
		v, ok := f(e)
		if !ok || v == "" {
			return k, false
		}
		k[i] = v
	}
	return k, true
}

func (r *Runner[E]) clone(e *E) E {
	if r.schema.Clone != nil {
		return r.schema.Clone(e)
	}
	return *e
}

// start begins a sequence for key, replacing a pending one at step 0.
func (r *Runner[E]) start(st *qstate[E], key joinKey, e *E, t time.Time) {
	r.stats.Started++
	if old := st.waiting[0][key]; old != nil {
		r.stats.Replaced++
		// The newer first event wins; one that arrives late with an older
		// timestamp is the one discarded (and counted as replaced).
		if t.Before(old.first) {
			return
		}
		// Reuse the replaced sequence's memory: a hook shell exec'd again
		// and again under one key is the common replacement.
		r.unlink(old)
		old.first, old.last, old.deadline = t, t, farFuture
		if st.q.MaxSpan > 0 {
			old.deadline = t.Add(st.q.MaxSpan)
		}
		clear(old.events[1:])
		old.events = old.events[:1]
		old.events[0] = r.clone(e)
		r.link(old)
		return
	}
	if r.stats.Pending >= r.maxPending {
		r.stats.Evicted++
		r.remove(r.oldest)
	}
	n := len(st.q.steps)
	p := &pending[E]{st: st, key: key, deadline: farFuture, first: t, last: t, events: make([]E, 1, n)}
	if st.q.MaxSpan > 0 {
		p.deadline = t.Add(st.q.MaxSpan)
	}
	p.events[0] = r.clone(e)
	st.waiting[0][key] = p
	r.link(p)
}

// advance moves p from step si-1 to si with e; a last step completes it.
func (r *Runner[E]) advance(st *qstate[E], si int, p *pending[E], e *E, t time.Time) (Match[E], bool) {
	delete(st.waiting[si-1], p.key)
	p.last = t
	p.events = append(p.events, r.clone(e))
	if si == len(st.q.steps)-1 {
		r.unlink(p)
		r.stats.Matches++
		return Match[E]{Events: p.events}, true
	}
	if old := st.waiting[si][p.key]; old != nil {
		r.stats.Replaced++
		r.remove(old)
	}
	p.stage = si
	st.waiting[si][p.key] = p
	return Match[E]{}, false
}

func (r *Runner[E]) clearKey(st *qstate[E], key joinKey) {
	for _, w := range st.waiting {
		if p := w[key]; p != nil {
			r.stats.Until++
			r.remove(p)
		}
	}
}

// Expire drops pending sequences whose window, plus the allowed lateness,
// ended before now. The sensor calls it with the wall clock so state does
// not linger when events stop.
func (r *Runner[E]) Expire(now time.Time) { r.expire(now.Add(-r.lateness)) }

func (r *Runner[E]) expire(limit time.Time) {
	for r.oldest != nil && r.oldest.deadline.Before(limit) {
		r.stats.Expired++
		r.remove(r.oldest)
	}
}

// Stats returns the runner's counters.
func (r *Runner[E]) Stats() Stats { return r.stats }

func (r *Runner[E]) remove(p *pending[E]) {
	if p == nil {
		return
	}
	delete(p.st.waiting[p.stage], p.key)
	r.unlink(p)
}

// link inserts p into the deadline-ordered list; events arrive nearly in
// time order, so the walk from the young end is short.
func (r *Runner[E]) link(p *pending[E]) {
	after := r.youngest
	for after != nil && after.deadline.After(p.deadline) {
		after = after.prev
	}
	p.prev = after
	if after == nil {
		p.next = r.oldest
		r.oldest = p
	} else {
		p.next = after.next
		after.next = p
	}
	if p.next == nil {
		r.youngest = p
	} else {
		p.next.prev = p
	}
	r.stats.Pending++
}

func (r *Runner[E]) unlink(p *pending[E]) {
	if p.prev == nil {
		r.oldest = p.next
	} else {
		p.prev.next = p.next
	}
	if p.next == nil {
		r.youngest = p.prev
	} else {
		p.next.prev = p.prev
	}
	p.prev, p.next = nil, nil
	r.stats.Pending--
}
