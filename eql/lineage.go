package eql

import "strings"

// DefaultLineageSize bounds each lineage set: the entity ids whose events
// matched the inner query of a `child of`/`descendant of`/`event of`.
const DefaultLineageSize = 4096

// tracker remembers, in a bounded FIFO set, the entity ids of events that
// matched a lineage operator's inner query. The Runner feeds it every event
// before evaluating the queries.
type tracker[E any] struct {
	category string
	cond     evalFn[E]
	entity   func(*E) string
	set      map[string]struct{}
	ring     []string
	next     int
}

func (t *tracker[E]) observe(e *E, category string) {
	if t.entity == nil || (t.category != "" && t.category != category) || !isTrue(t.cond(e)) {
		return
	}
	id := t.entity(e)
	if id == "" {
		return
	}
	if _, ok := t.set[id]; ok {
		return
	}
	if old := t.ring[t.next]; old != "" {
		delete(t.set, old)
	}
	t.ring[t.next] = id
	t.set[id] = struct{}{}
	t.next = (t.next + 1) % len(t.ring)
}

func (t *tracker[E]) has(id string) bool {
	if id == "" {
		return false
	}
	_, ok := t.set[id]
	return ok
}

// lineage compiles `child of [q]` (the event's parent at fork matched q),
// `descendant of [q]` (an ancestor did) and `event of [q]` (the event's own
// process did), Endgame EQL's process lineage.
func (c *compiler[E]) lineage(n *Lineage) (cexpr[E], error) {
	s := c.schema
	t := &tracker[E]{entity: s.EntityID, set: map[string]struct{}{}, ring: make([]string, DefaultLineageSize)}
	cat := strings.ToLower(n.Inner.Category)
	if cat != "any" {
		t.category = cat
	}
	cond, err := c.condition(n.Inner.Where)
	if err != nil {
		return cexpr[E]{}, err
	}
	t.cond = cond
	c.trackers = append(c.trackers, t)
	switch n.Kind {
	case "child":
		if s.ParentEntityID == nil {
			return cexpr[E]{typ: vBool, eval: constant[E](vFalse)}, nil
		}
		parent := s.ParentEntityID
		return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(t.has(parent(e))) }}, nil
	case "event":
		if s.EntityID == nil {
			return cexpr[E]{typ: vBool, eval: constant[E](vFalse)}, nil
		}
		self := s.EntityID
		return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(t.has(self(e))) }}, nil
	}
	parent, anc := s.ParentEntityID, s.Ancestry
	return cexpr[E]{typ: vBool, eval: func(e *E) value {
		if parent != nil && t.has(parent(e)) {
			return vTrue
		}
		if anc != nil {
			for _, id := range anc(e) {
				if t.has(id) {
					return vTrue
				}
			}
		}
		return vFalse
	}}, nil
}
