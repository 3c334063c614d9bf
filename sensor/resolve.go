package sensor

import (
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// resolver finds the entity of the process an audit event names, without
// ever making the event loop wait.
//
// The audit stream and the proc connector are two sockets read by two
// goroutines, so an audit event can be read before the fork event of the
// process it names. The kernel sends the fork event first (copy_process
// calls proc_fork_connector before the child can run), so a missing process
// is almost always a fork event still in flight, and only the fork event
// knows the parent at fork. An event whose process is unknown is therefore
// held (with any later events of the same pid, in order) until that fork
// event is applied, or until the wait bound passes; then /proc, and last
// the audit record alone, stand in. Meanwhile the loop goes on with other
// events. The rules engine matches on event time, so releasing a held
// event a few milliseconds after events of other processes changes no
// match within the rules' windows.
type resolver struct {
	tree *Tree
	// readEntity reads one process from /proc; ok is false when it is gone.
	readEntity func(pid int) (p *Entity, ok bool)
	// readStart reads a live pid's start time (/proc/<pid>/stat field 22);
	// ok is false when the pid is gone.
	readStart func(pid int) (ticks uint64, ok bool)
	// release hands over an event once its process is resolved; the
	// events of one process come in the order they arrived.
	release func(p *Entity, ev audit.Event)
	// wait bounds how long an event is held for its fork event; maxHeld
	// bounds the held events (the oldest pid is resolved early when full).
	wait    time.Duration
	maxHeld int

	held  map[int]*heldPID // by pid
	order []heldRef        // FIFO of held pids: deadlines only grow
	nheld int              // held events over all pids
	gen   uint64           // tells a pid held again from its older entry in order
	stats resolveStats
}

type heldPID struct {
	ppid     int // the first held event's audit ppid=
	events   []audit.Event
	deadline time.Time
	gen      uint64
}

type heldRef struct {
	pid int
	gen uint64
}

// defaultMaxHeld bounds the held events. Each is one audit event (argv
// capped by the assembler), so the table stays within a few MiB.
const defaultMaxHeld = 4096

// resolveStats count how entities were found, for the periodic health log.
type resolveStats struct {
	// FromCache: the process was in the tree. AfterFork: held until its
	// fork event came. FromProc: read from /proc after the wait. Unresolved:
	// built from the audit record alone.
	FromCache, AfterFork, FromProc, Unresolved uint64
	// Reparented counts audit ppid= values found to name a reaper (same
	// start time in /proc); PIDReused those that revealed a new process.
	Reparented, PIDReused uint64
	// Held counts events held; HeldNow and HeldPeak the held events now and
	// at most; ReleasedEarly those resolved before their bound because the
	// table was full.
	Held, ReleasedEarly uint64
	HeldNow, HeldPeak   int
}

func newResolver(tree *Tree, wait time.Duration) *resolver {
	return &resolver{tree: tree, wait: wait, maxHeld: defaultMaxHeld, held: map[int]*heldPID{}}
}

// resolve hands ev over (through release) with its process at once when
// the process is known, else holds it. now is the loop's clock, for the
// hold bound.
func (r *resolver) resolve(ev audit.Event, pid, ppid int, now time.Time) {
	if r.held[pid] != nil {
		if r.nheld >= r.maxHeld {
			r.stats.ReleasedEarly += uint64(r.releaseOldest())
		}
		// An earlier event of this pid waits: this one goes behind it
		// (unless making room just released them).
		if h := r.held[pid]; h != nil {
			r.add(h, ev)
			return
		}
	}
	if p := r.lookup(pid, ppid, ev.EventTime()); p != nil {
		r.stats.FromCache++
		r.release(p, ev)
		return
	}
	r.hold(ev, pid, ppid, now)
}

// lookup returns the cached entity of pid if it is the process that made
// an event at time t with audit ppid ppid, nil if a fork not yet seen must
// have made a newer process with this pid.
//
// A ppid that differs from the parent at fork is not by itself a new
// process: the parent may have died and the process been reparented. Only
// the start time tells a reused pid, so /proc is asked once per new ppid.
func (r *resolver) lookup(pid, ppid int, t time.Time) *Entity {
	p, ok := r.tree.Get(pid)
	if !ok {
		return nil
	}
	// The audit time is coarse (jiffies) and taken at syscall entry, so it
	// is at or before the syscall: a syscall stamped after the exit is not
	// the exited process's.
	if p.Exited && t.After(p.ExitTime) {
		return nil
	}
	if ppid == p.PPID || ppid == p.auditPPID {
		return p
	}
	start, alive := r.readStart(pid)
	switch {
	case !alive:
		// Gone: the event is the cached process's own, read late.
		return p
	case procfs.SameStart(start, p.StartTicks):
		r.stats.Reparented++
		p.auditPPID = ppid
		return p
	}
	r.stats.PIDReused++
	return nil
}

func (r *resolver) hold(ev audit.Event, pid, ppid int, now time.Time) {
	if r.nheld >= r.maxHeld {
		r.stats.ReleasedEarly += uint64(r.releaseOldest())
	}
	r.gen++
	h := &heldPID{ppid: ppid, deadline: now.Add(r.wait), gen: r.gen}
	r.held[pid] = h
	r.order = append(r.order, heldRef{pid: pid, gen: h.gen})
	r.add(h, ev)
}

func (r *resolver) add(h *heldPID, ev audit.Event) {
	h.events = append(h.events, ev)
	r.nheld++
	r.stats.Held++
	r.stats.HeldNow = r.nheld
	r.stats.HeldPeak = max(r.stats.HeldPeak, r.nheld)
}

// forked is called after the fork event of child (by parent) is applied to
// the tree: events held for the child go out with the new entity. Events
// held for the parent go out too, resolved from /proc: the fork proves the
// parent was alive, and its descendants' events must not pass it.
func (r *resolver) forked(child, parent *Entity) {
	if h := r.held[parent.PID]; h != nil && parent.PID != child.PID {
		r.take(parent.PID, h, r.fallback(parent.PID, h))
	}
	if h := r.held[child.PID]; h != nil {
		r.stats.AfterFork += uint64(len(h.events))
		r.take(child.PID, h, child)
	}
}

// expire resolves the held pids whose bound has passed at now.
func (r *resolver) expire(now time.Time) {
	for len(r.order) > 0 {
		ref := r.order[0]
		h := r.held[ref.pid]
		if h != nil && h.gen == ref.gen && now.Before(h.deadline) {
			return
		}
		r.order = r.order[1:]
		if h != nil && h.gen == ref.gen {
			r.take(ref.pid, h, r.fallback(ref.pid, h))
		}
	}
	if len(r.order) == 0 {
		r.order = r.order[:0:0] // let the backing array go after a burst
	}
}

// releaseOldest resolves the oldest held pid now; it returns how many
// events it released.
func (r *resolver) releaseOldest() int {
	for len(r.order) > 0 {
		ref := r.order[0]
		r.order = r.order[1:]
		if h := r.held[ref.pid]; h != nil && h.gen == ref.gen {
			n := len(h.events)
			r.take(ref.pid, h, r.fallback(ref.pid, h))
			return n
		}
	}
	return 0
}

// nextDeadline returns when the oldest held pid's bound passes.
func (r *resolver) nextDeadline() (time.Time, bool) {
	for len(r.order) > 0 {
		ref := r.order[0]
		if h := r.held[ref.pid]; h != nil && h.gen == ref.gen {
			return h.deadline, true
		}
		r.order = r.order[1:] // released by its fork
	}
	return time.Time{}, false
}

func (r *resolver) take(pid int, h *heldPID, p *Entity) {
	delete(r.held, pid)
	r.nheld -= len(h.events)
	r.stats.HeldNow = r.nheld
	for _, ev := range h.events {
		r.release(p, ev)
	}
}

// fallback builds the entity of a pid whose fork event never came: from
// /proc (its ppid there is the best knowledge of the parent) or, when it
// is gone, from the audit record alone.
func (r *resolver) fallback(pid int, h *heldPID) *Entity {
	if p, ok := r.readEntity(pid); ok {
		r.stats.FromProc += uint64(len(h.events))
		if old, ok := r.tree.Get(pid); ok && procfs.SameStart(old.StartTicks, p.StartTicks) && old.Source != "audit" {
			return old // the same entity, already known
		}
		Link(p, r.parentByPID(p.PPID))
		return r.tree.Put(p)
	}
	r.stats.Unresolved += uint64(len(h.events))
	p := &Entity{PID: pid, PPID: h.ppid, Source: "audit"}
	Link(p, r.parentByPID(h.ppid))
	return r.tree.Put(p)
}

// parentByPID is the parent of a process found without its fork event:
// the cached process with that pid, else /proc's (the connector may lag
// behind for the parent too: apt's hook runner is itself a fresh fork).
// A fork event that comes later relinks both to their parents at fork.
func (r *resolver) parentByPID(ppid int) *Entity {
	if ppid <= 0 {
		return nil
	}
	if p, ok := r.tree.Get(ppid); ok {
		return p
	}
	p, ok := r.readEntity(ppid)
	if !ok {
		return nil
	}
	gp, _ := r.tree.Get(p.PPID)
	Link(p, gp)
	return r.tree.Put(p)
}
