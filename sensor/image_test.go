package sensor

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// execOf is the audit exec event of pid (parent ppid) into the image of
// exe with argv args.
func execOf(pid, ppid int, exe string, args ...string) *audit.Exec {
	return &audit.Exec{Time: testTime, Subject: audit.Subject{PID: pid, PPID: ppid, Comm: args[0], Exe: exe}, Args: args, Argc: len(args)}
}

func forkOf(parent, child int, start uint64) procfs.Fork {
	return procfs.Fork{ParentPID: parent, ChildPID: child, Child: procfs.Stat{PID: child, PPID: parent, StartTime: start}}
}

func wantImage(t *testing.T, s *sensor, pid int, name, exe string) {
	t.Helper()
	p, ok := s.tree.Get(pid)
	if !ok {
		t.Fatalf("pid %d not in the tree", pid)
	}
	if p.Name != name || p.Executable != exe {
		t.Errorf("pid %d: %s (%s), want %s (%s)", pid, p.Name, p.Executable, name, exe)
	}
}

// The connector reports apt's exec and the fork of its hook runner before
// the audit record of the exec is applied: the hook runner (and a fork of
// it) takes apt's image when that record comes, not the image of the
// program that exec'd apt. Before, the hook shell's parent was named
// "unshare" (TestE2EParentAtForkChildOutlivesShell, reading the connector
// along with the audit socket).
func TestForkBeforeParentsExecRecordTakesTheNewImage(t *testing.T) {
	s := benchSensor(t)
	s.tree.Put(&Entity{PID: 1000, PPID: 1, StartTicks: 100, Name: "unshare", Executable: "/usr/bin/unshare", Source: "scan"})
	s.applyProcEvent(procfs.Exec{PID: 1000})
	s.applyProcEvent(forkOf(1000, 1001, 101)) // the hook runner
	s.applyProcEvent(forkOf(1001, 1002, 102)) // a fork of it that never execs
	wantImage(t, s, 1001, "unshare", "/usr/bin/unshare")

	s.handleAudit(execOf(1000, 1, "/usr/bin/apt", "apt", "update"))
	wantImage(t, s, 1001, "apt", "/usr/bin/apt")
	wantImage(t, s, 1002, "apt", "/usr/bin/apt")
	if p, _ := s.tree.Get(1001); len(p.Args) != 2 || p.Args[1] != "update" {
		t.Errorf("hook runner's args %q, want apt's", p.Args)
	}
	if p, _ := s.tree.Get(1000); p.heirs != nil {
		t.Errorf("apt still keeps %d heirs after passing its image", len(p.heirs))
	}
}

// A child forked before its parent's exec keeps the image it was forked
// with (exec in place after a fork), and a child that exec'd, or renamed
// itself, keeps its own.
func TestForkKeepsItsOwnImage(t *testing.T) {
	s := benchSensor(t)
	s.tree.Put(&Entity{PID: 2000, PPID: 1, StartTicks: 200, Name: "sh", Executable: "/usr/bin/dash", Source: "scan"})
	s.applyProcEvent(forkOf(2000, 2001, 201)) // forked before the exec below
	s.applyProcEvent(procfs.Exec{PID: 2000})
	s.applyProcEvent(forkOf(2000, 2002, 202)) // will exec itself
	s.applyProcEvent(forkOf(2000, 2003, 203)) // will rename itself
	s.applyProcEvent(procfs.Comm{PID: 2003, Comm: "worker"})
	s.handleAudit(execOf(2002, 2000, "/usr/bin/curl", "curl", "http://x"))
	s.handleAudit(execOf(2000, 1, "/usr/bin/perl", "perl", "-e", "1"))

	wantImage(t, s, 2000, "perl", "/usr/bin/perl")
	wantImage(t, s, 2001, "sh", "/usr/bin/dash")
	wantImage(t, s, 2002, "curl", "/usr/bin/curl")
	wantImage(t, s, 2003, "worker", "/usr/bin/perl")
}

// Heirs are bounded: the children beyond maxHeirs keep the image they
// were forked with, and none is left waiting.
func TestHeirsAreBounded(t *testing.T) {
	s := benchSensor(t)
	s.tree.Put(&Entity{PID: 3000, PPID: 1, StartTicks: 300, Name: "bash", Executable: "/usr/bin/bash", Source: "scan"})
	s.applyProcEvent(procfs.Exec{PID: 3000})
	for i := range maxHeirs + 4 {
		s.applyProcEvent(forkOf(3000, 3001+i, uint64(301+i)))
	}
	if p, _ := s.tree.Get(3000); len(p.heirs) != maxHeirs {
		t.Fatalf("%d heirs, want %d", len(p.heirs), maxHeirs)
	}
	s.handleAudit(execOf(3000, 1, "/usr/bin/apt", "apt"))
	for i := range maxHeirs + 4 {
		want := "apt"
		if i < 4 {
			want = "bash" // dropped from the heirs: the oldest
		}
		p, _ := s.tree.Get(3001 + i)
		if p.Name != want || p.heirPending {
			t.Errorf("child %d: %s pending %v, want %s", i, p.Name, p.heirPending, want)
		}
	}
}

// An audit exec event can be applied before the connector's report of the
// same exec (released from the resolver's hold ahead of the fork's batch):
// it is counted once, so a fork after the next exec still waits for that
// exec's image, not for one that never comes.
func TestExecRecordBeforeItsConnectorReportCountsOnce(t *testing.T) {
	s := benchSensor(t)
	s.tree.Put(&Entity{PID: 4000, PPID: 1, StartTicks: 400, Name: "bash", Executable: "/usr/bin/bash", Source: "scan"})
	s.handleAudit(execOf(4000, 1, "/usr/bin/unshare", "unshare", "-n", "apt"))
	s.applyProcEvent(procfs.Exec{PID: 4000})  // unshare's, reported late
	s.applyProcEvent(procfs.Exec{PID: 4000})  // apt's
	s.applyProcEvent(forkOf(4000, 4001, 401)) // the hook runner
	wantImage(t, s, 4001, "unshare", "/usr/bin/unshare")
	s.handleAudit(execOf(4000, 1, "/usr/bin/apt", "apt", "update"))
	wantImage(t, s, 4001, "apt", "/usr/bin/apt")
}
