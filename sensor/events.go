package sensor

import (
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
	"github.com/aptsentinel/aptsentinel/rules"
)

// handleAudit passes one audit event to the resolver, which hands it to
// applyAudit with its process, at once or (process not known yet) once the
// fork event or the wait bound resolves it. It never waits.
func (s *sensor) handleAudit(ev audit.Event) {
	var pr audit.Subject
	switch e := ev.(type) {
	case *audit.Exec:
		s.counts.Execs++
		s.checkProbe(e)
		pr = e.Subject
	case *audit.Connect:
		s.counts.Connects++
		pr = e.Subject
	case *audit.File:
		s.counts.Files++
		pr = e.Subject
	default:
		return
	}
	s.res.resolve(ev, pr.PID, pr.PPID, time.Now())
}

// applyAudit turns an event of process p into a rules.Event, updating the
// tree, and writes an alert for each match. It is the resolver's release.
func (s *sensor) applyAudit(p *Entity, ev audit.Event) {
	var re rules.Event
	switch e := ev.(type) {
	case *audit.Exec:
		re = s.execEvent(p, e)
	case *audit.Connect:
		re = s.connectEvent(p, e)
	case *audit.File:
		re = s.fileEvent(p, e)
	default:
		return
	}
	for _, m := range s.engine.Process(&re) {
		fillLineage(m.Lineage, p)
		s.writeAlert(m)
	}
}

// execEvent records the exec in the tree (same entity: an exec keeps pid,
// start time and parent at fork) and returns the exec event.
func (s *sensor) execEvent(p *Entity, e *audit.Exec) rules.Event {
	// For a #! script, exe= is the interpreter and comm the script's
	// basename. Elastic Endpoint reports the same: its exec probe
	// (elastic/ebpf GPL/Events/Process/Probe.bpf.c, sched_process_exec)
	// reads binprm->file, which fs/exec.c exec_binprm has switched to the
	// interpreter before that tracepoint (issue 8 A.4; see the README).
	p.Name, p.Executable, p.Cwd, p.UID = e.Subject.Comm, e.Subject.Exe, e.Cwd, e.Subject.UID
	p.Args, p.ArgsTruncated, p.Argc = e.Args, e.ArgsTruncated, e.Argc
	p.renamed, p.heirPending = false, false
	p.auditExecs++
	if p.auditExecs > p.connExecs {
		// The connector's report of this exec is still to come (an
		// event released from the resolver's hold runs ahead of the
		// fork's batch): count it now, and not again when it comes.
		p.connExecs = p.auditExecs
		p.execsAhead++
	}
	s.tree.Resize(p)
	if p.heirs != nil {
		s.passImage(p)
	}
	return rules.Event{
		Time:    e.Time,
		Action:  rules.ActionExec,
		HostID:  s.host.ID,
		Process: ecsProcessOf(p),
		Outcome: "success",
	}
}

func (s *sensor) connectEvent(p *Entity, e *audit.Connect) rules.Event {
	if p.Name == "" {
		p.Name, p.Executable = e.Subject.Comm, e.Subject.Exe
	}
	re := rules.Event{
		Time:        e.Time,
		Action:      rules.ActionConnectionAttempt,
		HostID:      s.host.ID,
		Process:     ecsProcessOf(p),
		Destination: e.Dest,
		Outcome:     "success",
	}
	// The audit record is the truth for the connecting task: a thread or an
	// image the tree has not caught up with still names itself here.
	// An io_uring SQPOLL thread's event has no comm or exe: the tree's stay.
	if e.Subject.Comm != "" {
		re.Process.Name, re.Process.Executable = e.Subject.Comm, e.Subject.Exe
	}
	switch {
	case e.ResultUnknown: // io_uring: audit does not see the result
		re.Outcome = "" // rules.Event: "" is unknown
	case !e.Success:
		re.Outcome = "failure"
		if e.Errno != 0 {
			re.Errno = errnoName(e.Errno)
		}
	}
	return re
}

// ecsProcessOf is the ECS process object of p, with its parent at fork
// (empty when unknown).
func ecsProcessOf(p *Entity) rules.Process {
	out := rules.Process{
		PID:        p.PID,
		EntityID:   p.EntityID,
		Name:       p.Name,
		Executable: p.Executable,
		Args:       p.Args,
		WorkingDir: p.Cwd,
		UID:        p.UID,
		Ancestry:   p.Ancestry,
	}
	if parent := p.Parent; parent != nil {
		out.Parent = rules.Parent{
			PID:        parent.PID,
			EntityID:   parent.EntityID,
			Name:       parent.Name,
			Executable: parent.Executable,
			Args:       parent.Args,
		}
	}
	return out
}

// writeAlert hands a match to the alert stage.
func (s *sensor) writeAlert(m rules.Match) {
	if err := s.cfg.Output.WriteMatch(m, s.host); err != nil {
		s.counts.AlertErrors++
		s.log.Error("alert not delivered", "rule", m.Rule.ID, "err", err.Error())
		return
	}
	s.counts.Alerts++
}

// applyProcEvent applies one proc connector event to the tree.
func (s *sensor) applyProcEvent(ev procfs.Event) {
	switch e := ev.(type) {
	case procfs.Fork:
		s.counts.Forks++
		s.applyFork(e)
	case procfs.Exit:
		s.counts.Exits++
		s.tree.Exit(e.PID, e.Time)
	case procfs.Exec:
		// The image comes with the audit event; the count tells forks
		// after this exec to wait for it (image.go).
		if p, ok := s.tree.Get(e.PID); ok {
			if p.execsAhead > 0 {
				p.execsAhead-- // counted by its audit event already
			} else {
				p.connExecs++
			}
		}
	case procfs.Comm:
		// prctl(PR_SET_NAME) renames the process; the kernel's comm is what
		// process.name reports.
		if p, ok := s.tree.Get(e.PID); ok {
			p.Name, p.renamed = e.Comm, true
		}
	}
}

// applyFork adds the child of a fork, linked to the process that forked it
// (its parent at fork for life), then lets the resolver release events
// held for either. A fork copies the parent's image (image.go); its
// start time is the child's own (procfs.Fork.Child).
func (s *sensor) applyFork(f procfs.Fork) {
	parent := s.forkParent(f)
	if old, ok := s.tree.Get(f.ChildPID); ok && procfs.SameStart(old.StartTicks, f.Child.StartTime) && old.Source != "audit" {
		// Already known (read from /proc while its fork was in flight): the
		// fork event still knows the parent best.
		if old.Source == "proc" || old.Source == "scan" {
			old.PPID = f.ParentPID
			Link(old, parent)
			s.tree.Resize(old)
		}
		s.res.forked(old, parent)
		return
	}
	p := &Entity{PID: f.ChildPID, PPID: f.ParentPID, StartTicks: f.Child.StartTime, Source: "fork"}
	inherit(p, parent)
	Link(p, parent)
	s.res.forked(s.tree.Put(p), parent)
}

// forkParent returns the entity of the process that forked: the cached one,
// else /proc's (it was alive a moment ago), else one known only by pid
// and the comm its child inherited.
func (s *sensor) forkParent(f procfs.Fork) *Entity {
	if p, ok := s.tree.Get(f.ParentPID); ok && !p.Exited {
		return p
	}
	if p, ok := s.readEntity(f.ParentPID); ok {
		if pp, ok := s.tree.Get(p.PPID); ok {
			Link(p, pp)
		}
		return s.tree.Put(p)
	}
	return s.tree.Put(&Entity{PID: f.ParentPID, Name: f.Child.Comm, Source: "audit"})
}

// readEntity reads one process from /proc for the resolver.
func (s *sensor) readEntity(pid int) (*Entity, bool) {
	p, err := s.fs.Snapshot(pid)
	if err != nil {
		return nil, false
	}
	return entityFromFS(p, "proc"), true
}

// readStart reads the start time of a live pid for the resolver.
func (s *sensor) readStart(pid int) (uint64, bool) {
	st, err := s.fs.Proc(pid).Stat()
	if err != nil {
		return 0, false
	}
	return st.StartTime, true
}

func entityFromFS(p procfs.Snapshot, source string) *Entity {
	return &Entity{
		PID: p.PID, PPID: p.PPID, StartTicks: p.StartTime, Name: p.Comm, Executable: p.Exe,
		Args: p.Args, Argc: len(p.Args), Cwd: p.Cwd, UID: p.UID, Source: source,
	}
}
