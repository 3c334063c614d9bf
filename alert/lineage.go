package alert

import (
	"maps"

	"github.com/aptsentinel/aptsentinel/rules"
)

// ancestor is one entry of aptsentinel.lineage: ECS has no field for the
// chain between two processes of an alert (process.Ext.ancestry lists
// entity ids only, of one process).
type ancestor struct {
	EntityID string `json:"entity_id"`
	PID      int    `json:"pid,omitempty"`
	Name     string `json:"name,omitempty"`
}

// withLineage returns the alert's aptsentinel object: the finding (copied,
// not changed) plus lineage, the chain from the last event's process up to
// the first one's (rules.Match.Lineage), nearest first.
func withLineage(finding map[string]any, l []rules.Ancestor) map[string]any {
	if len(l) == 0 {
		return finding
	}
	out := make(map[string]any, len(finding)+1)
	maps.Copy(out, finding)
	chain := make([]ancestor, len(l))
	for i, a := range l {
		chain[i] = ancestor(a)
	}
	out["lineage"] = chain
	return out
}
