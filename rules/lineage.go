package rules

import "slices"

// Ancestor is one process of a match's lineage. PID and Name are zero when
// nothing the match or the sensor holds still knows them.
type Ancestor struct {
	EntityID string
	PID      int
	Name     string
}

// Lineage is the chain of processes, by parent at fork, from the last
// matched event's process up to the first one's, both included: for a hook
// rule, from the process that connected up to the hook shell. It is nil
// when the first event's process is neither the last one's own nor among
// its ancestors (as far as Process.Ancestry reaches), and for a match of
// one event. PID and Name come from the events themselves (the last
// process, its parent, the first process); the sensor fills in the others
// it still has in its process cache.
func Lineage(events []Event) []Ancestor {
	if len(events) < 2 {
		return nil
	}
	first, last := &events[0].Process, &events[len(events)-1].Process
	if first.EntityID == "" || last.EntityID == "" {
		return nil
	}
	out := []Ancestor{{EntityID: last.EntityID, PID: last.PID, Name: last.Name}}
	if last.EntityID != first.EntityID {
		i := slices.Index(last.Ancestry, first.EntityID)
		if i < 0 {
			return nil
		}
		for _, id := range last.Ancestry[:i+1] {
			out = append(out, Ancestor{EntityID: id})
		}
		if p := &out[1]; p.EntityID == last.Parent.EntityID {
			p.PID, p.Name = last.Parent.PID, last.Parent.Name
		}
	}
	// The first event's process: the hook shell, as its exec named it.
	end := &out[len(out)-1]
	end.PID, end.Name = first.PID, first.Name
	if len(out) == 1 {
		// The shell exec'd the connecting program in its place: one
		// process, named as it was at the connection.
		end.Name = last.Name
	}
	return out
}
