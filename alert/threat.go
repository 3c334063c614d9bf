package alert

import "github.com/aptsentinel/aptsentinel/rules"

// alertThreat is ECS threat.*: parallel arrays, one entry per tactic,
// technique and sub-technique, in the rule's order.
type alertThreat struct {
	Framework string      `json:"framework"`
	Tactic    ecsRefs     `json:"tactic"`
	Technique ecsTechnics `json:"technique"`
}

type ecsRefs struct {
	ID        []string `json:"id"`
	Name      []string `json:"name"`
	Reference []string `json:"reference"`
}

type ecsTechnics struct {
	ecsRefs
	Subtechnique ecsRefs `json:"subtechnique"`
}

func (r *ecsRefs) add(id, name, ref string) {
	r.ID = append(r.ID, id)
	r.Name = append(r.Name, name)
	r.Reference = append(r.Reference, ref)
}

func newThreat(ts []rules.Threat) alertThreat {
	var out alertThreat
	for _, t := range ts {
		out.Framework = t.Framework
		out.Tactic.add(t.Tactic.ID, t.Tactic.Name, t.Tactic.Reference)
		for _, tech := range t.Techniques {
			out.Technique.add(tech.ID, tech.Name, tech.Reference)
			for _, sub := range tech.Subtechniques {
				out.Technique.Subtechnique.add(sub.ID, sub.Name, sub.Reference)
			}
		}
	}
	return out
}
