package sensor

import "github.com/aptsentinel/aptsentinel/rules"

// fillLineage completes a match's lineage (rules.Lineage: the last event's
// process up to the first's) with the pid and name of each ancestor the
// process tree still links to p, the process of the last event. The
// engine knows only the entity ids of the ones in between; the tree's
// Parent pointers are the parent at fork, kept after exit and eviction.
func fillLineage(l []rules.Ancestor, p *Entity) {
	for i := range l {
		if p == nil || p.EntityID != l[i].EntityID {
			return
		}
		if l[i].PID == 0 {
			l[i].PID = p.PID
		}
		if l[i].Name == "" {
			l[i].Name = p.Name
		}
		p = p.Parent
	}
}
