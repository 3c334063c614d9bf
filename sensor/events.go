package sensor

import (
	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
	"github.com/aptsentinel/aptsentinel/rules"
)

// handleAudit turns one audit event into a rules.Event, updating the tree,
// and writes an alert for each match.
func (s *sensor) handleAudit(ev audit.Event) {
	var re rules.Event
	switch e := ev.(type) {
	case *audit.Exec:
		s.counts.Execs++
		s.checkProbe(e)
		re = s.execEvent(e)
	case *audit.Connect:
		s.counts.Connects++
		re = s.connectEvent(e)
	default:
		return
	}
	for _, m := range s.engine.Process(&re) {
		s.writeAlert(m)
	}
}

// execEvent records the exec in the tree (same entity: an exec keeps pid
// and start time) and returns the exec event.
func (s *sensor) execEvent(e *audit.Exec) rules.Event {
	p := s.res.process(e.Process.PID, e.Process.PPID)
	p.Name, p.Executable, p.Args, p.Cwd, p.UID = e.Process.Comm, e.Process.Exe, e.Args, e.Cwd, e.Process.UID
	parent := s.res.parent(e.Process.PPID)
	return rules.Event{
		Time:    e.Time,
		Action:  rules.ActionExec,
		HostID:  s.host.ID,
		Process: ecsProcessOf(p, parent),
		Outcome: "success",
	}
}

func (s *sensor) connectEvent(e *audit.Connect) rules.Event {
	p := s.res.process(e.Process.PID, e.Process.PPID)
	if p.Name == "" {
		p.Name, p.Executable = e.Process.Comm, e.Process.Exe
	}
	parent := s.res.parent(e.Process.PPID)
	re := rules.Event{
		Time:        e.Time,
		Action:      rules.ActionConnectionAttempt,
		HostID:      s.host.ID,
		Process:     ecsProcessOf(p, parent),
		Destination: e.Dest,
		Outcome:     "success",
	}
	// The audit record is the truth for the connecting task: a thread or an
	// image the tree has not caught up with still names itself here.
	re.Process.Name, re.Process.Executable = e.Process.Comm, e.Process.Exe
	if !e.Success {
		re.Outcome = "failure"
		if e.Errno != 0 {
			re.Errno = errnoName(e.Errno)
		}
	}
	return re
}

func ecsProcessOf(p, parent *Proc) rules.Process {
	return rules.Process{
		PID:        p.PID,
		EntityID:   p.EntityID,
		Name:       p.Name,
		Executable: p.Executable,
		Args:       p.Args,
		WorkingDir: p.Cwd,
		UID:        p.UID,
		Parent: rules.Parent{
			PID:        parent.PID,
			EntityID:   parent.EntityID,
			Name:       parent.Name,
			Executable: parent.Executable,
			Args:       parent.Args,
		},
	}
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
	case procfs.Comm:
		// prctl(PR_SET_NAME) renames the process; the kernel's comm is what
		// process.name reports.
		if p, ok := s.tree.Get(e.PID); ok {
			p.Name = e.Comm
		}
	}
}

// applyFork adds the child of a fork. A fork copies the parent's comm,
// executable, argv and working directory; the connector read the child's
// stat at once, so its start time (and comm) are the child's own.
func (s *sensor) applyFork(f procfs.Fork) {
	if old, ok := s.tree.Get(f.ChildPID); ok && old.StartTicks == f.Child.StartTime && old.Source != "audit" {
		return // already known, maybe with its exec: keep it
	}
	p := &Proc{PID: f.ChildPID, PPID: f.ParentPID, StartTicks: f.Child.StartTime, Name: f.Child.Comm, Source: "fork"}
	if parent, ok := s.tree.Get(f.ParentPID); ok {
		p.Executable, p.Args, p.Cwd, p.UID = parent.Executable, parent.Args, parent.Cwd, parent.UID
		if p.Name == "" {
			p.Name = parent.Name
		}
	}
	s.tree.Put(p)
}

// readProc reads one process from /proc for the resolver.
func (s *sensor) readProc(pid int) (*Proc, bool) {
	p, err := s.fs.Process(pid)
	if err != nil {
		return nil, false
	}
	return procFromFS(p, "proc"), true
}

func procFromFS(p procfs.Process, source string) *Proc {
	return &Proc{
		PID: p.PID, PPID: p.PPID, StartTicks: p.StartTime, Name: p.Comm, Executable: p.Exe,
		Args: p.Args, Cwd: p.Cwd, UID: p.UID, Source: source,
	}
}
