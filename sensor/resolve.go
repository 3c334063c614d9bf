package sensor

import "time"

// resolver finds the entity of a pid named by an audit event.
//
// The audit stream and the proc connector are two sockets read by two
// goroutines, so an audit event can be read before the fork event of the
// process it names. The kernel sends the fork event first (copy_process
// calls proc_fork_connector before the child can run), so a missing process
// is almost always a fork event still in flight: the resolver reads /proc,
// then waits for the connector, bounded by wait, before it gives up and
// builds the entity from the audit record alone.
type resolver struct {
	tree *Tree
	// readProc reads one process from /proc; ok is false when it is gone.
	readProc func(pid int) (p *Proc, ok bool)
	// nextProcEvent applies the next proc connector event, waiting at most
	// until the deadline; it reports false when none came.
	nextProcEvent func(deadline time.Time) bool
	wait          time.Duration
	stats         resolveStats
}

// resolveStats count how entities were found, for the periodic health log.
type resolveStats struct {
	FromCache, FromProc, AfterWait, Unresolved uint64
	Waited                                     time.Duration
}

// process returns the entity of the process pid whose parent is ppid
// (the audit record's pid and ppid). A cached entity with another parent is
// an older process that had the same pid, or one reparented since: /proc and
// the connector are asked first, and it is used only if they know nothing.
func (r *resolver) process(pid, ppid int) *Proc {
	match := func(p *Proc) bool { return p.PPID == ppid }
	if p := r.find(pid, match); p != nil {
		return p
	}
	if p, ok := r.tree.Get(pid); ok {
		return p
	}
	r.stats.Unresolved++
	return r.tree.Put(&Proc{PID: pid, PPID: ppid, Source: "audit"})
}

// parent returns the entity of pid, the parent named by an audit record.
// Its name is needed to judge the event; an entity learned from neither
// /proc nor the connector has none.
func (r *resolver) parent(pid int) *Proc {
	if p := r.find(pid, func(*Proc) bool { return true }); p != nil {
		return p
	}
	r.stats.Unresolved++
	return r.tree.Put(&Proc{PID: pid, Source: "audit"})
}

func (r *resolver) find(pid int, match func(*Proc) bool) *Proc {
	if p, ok := r.tree.Get(pid); ok && match(p) {
		r.stats.FromCache++
		return p
	}
	if p, ok := r.readProc(pid); ok && match(p) {
		r.stats.FromProc++
		return r.keep(p)
	}
	start := time.Now()
	deadline := start.Add(r.wait)
	defer func() { r.stats.Waited += time.Since(start) }()
	for r.nextProcEvent(deadline) {
		if p, ok := r.tree.Get(pid); ok && match(p) {
			r.stats.AfterWait++
			return p
		}
	}
	return nil
}

// keep stores a process read from /proc unless the cache already has the
// same entity (same start time), whose exec data may be richer.
func (r *resolver) keep(p *Proc) *Proc {
	if old, ok := r.tree.Get(p.PID); ok && old.StartTicks == p.StartTicks && old.Source != "audit" {
		return old
	}
	return r.tree.Put(p)
}
