package sensor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// hookChain puts apt (1000), its hook runner (1001, a fork of apt that
// never execs) and returns the events of a hook: the shell 1002 exec'ing
// sh -c, its child 1003 connecting out with the given audit ppid.
func hookChain(s *sensor, at time.Time, connPPID int) (*audit.Exec, *audit.Connect) {
	apt := s.tree.Put(&Entity{PID: 1000, PPID: 1, StartTicks: 100, Name: "apt", Executable: "/usr/bin/apt", Source: "scan"})
	s.applyProcEvent(procfs.Fork{ParentPID: 1000, ChildPID: 1001, Child: procfs.Stat{PID: 1001, PPID: 1000, Comm: "apt", StartTime: 101}})
	_ = apt
	exec := &audit.Exec{Time: at, Serial: 1, Subject: audit.Subject{PID: 1002, PPID: 1001, Comm: "sh", Exe: "/usr/bin/dash"},
		Args: []string{"sh", "-c", "(sleep 2; bash -c 'exec 3<>/dev/tcp/1.1.1.1/80') & true"}, Argc: 3}
	conn := &audit.Connect{Time: at.Add(2 * time.Second), Serial: 2, Subject: audit.Subject{PID: 1003, PPID: connPPID, Comm: "bash", Exe: "/usr/bin/bash"},
		Dest: netip.MustParseAddrPort("1.1.1.1:80")}
	return exec, conn
}

// Issue 9: the loop used to block up to --parent-wait on every event whose
// process it did not know, so a flood of short-lived processes delayed
// everything behind it by 50 ms each. Now such events are held and the
// loop goes on: a known process's alert is not delayed by them.
func TestUnknownProcessFloodDoesNotDelayAlert(t *testing.T) {
	s := benchSensor(t)
	s.res.wait = 50 * time.Millisecond
	exec, conn := hookChain(s, testTime, 1002)
	s.applyProcEvent(procfs.Fork{ParentPID: 1001, ChildPID: 1002, Child: procfs.Stat{PID: 1002, Comm: "apt", StartTime: 102}})
	s.applyProcEvent(procfs.Fork{ParentPID: 1002, ChildPID: 1003, Child: procfs.Stat{PID: 1003, Comm: "sh", StartTime: 103}})

	start := time.Now()
	for i := range 200 {
		s.handleAudit(&audit.Connect{Time: testTime, Serial: uint64(100 + i),
			Subject: audit.Subject{PID: 20000 + i, PPID: 1, Comm: "true"}, Dest: netip.MustParseAddrPort("127.0.0.1:1")})
	}
	s.handleAudit(exec)
	s.handleAudit(conn)
	if el := time.Since(start); el > 40*time.Millisecond {
		t.Errorf("202 events took %v: the loop waited for unknown processes", el)
	}
	if s.counts.Alerts != 1 {
		t.Fatalf("%d alerts right after the connect, want 1", s.counts.Alerts)
	}
	if s.res.nheld != 200 {
		t.Errorf("%d events held, want the 200 of unknown processes", s.res.nheld)
	}
	s.res.expire(time.Now().Add(time.Second))
	if s.res.nheld != 0 || s.res.stats.Unresolved != 200 {
		t.Errorf("after the bound: held %d stats %+v, want all 200 released unresolved", s.res.nheld, s.res.stats)
	}
}

// Issue 8 A.1: the hook shell exits at once, its background child connects
// two seconds later, reparented to init (audit ppid=1). Its parent at fork
// is still the shell, so the rule matches; and an event of the shell read
// before its fork event is held and released by the fork.
func TestParentAtForkAfterShellExits(t *testing.T) {
	s := benchSensor(t)
	exec, conn := hookChain(s, testTime, 1)
	s.handleAudit(exec) // the shell's fork event is still in flight
	if s.res.nheld != 1 {
		t.Fatalf("the shell's exec was not held (held %d)", s.res.nheld)
	}
	s.applyProcEvent(procfs.Fork{ParentPID: 1001, ChildPID: 1002, Child: procfs.Stat{PID: 1002, Comm: "apt", StartTime: 102}})
	if s.res.nheld != 0 {
		t.Fatal("the shell's fork did not release its exec")
	}
	s.applyProcEvent(procfs.Fork{ParentPID: 1002, ChildPID: 1003, Child: procfs.Stat{PID: 1003, Comm: "sh", StartTime: 103}})
	s.applyProcEvent(procfs.Exit{PID: 1002, Time: testTime.Add(10 * time.Millisecond)})
	s.handleAudit(conn)
	if s.counts.Alerts != 1 {
		t.Fatalf("%d alerts, want 1: the reparented child's parent at fork is the shell", s.counts.Alerts)
	}
	child, _ := s.tree.Get(1003)
	shell, _ := s.tree.Get(1002)
	runner, _ := s.tree.Get(1001)
	apt, _ := s.tree.Get(1000)
	want := []string{shell.EntityID, runner.EntityID, apt.EntityID}
	if got := child.Ancestry; len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("ancestry %v, want %v first", got, want)
	}
}

// A grandchild through a double fork is not the shell's child: its parent
// at fork is the middle process, so the seed rule does not match.
func TestDoubleForkGrandchildDoesNotMatch(t *testing.T) {
	s := benchSensor(t)
	exec, conn := hookChain(s, testTime, 1)
	s.applyProcEvent(procfs.Fork{ParentPID: 1001, ChildPID: 1002, Child: procfs.Stat{PID: 1002, Comm: "apt", StartTime: 102}})
	s.handleAudit(exec)
	s.applyProcEvent(procfs.Fork{ParentPID: 1002, ChildPID: 1004, Child: procfs.Stat{PID: 1004, Comm: "sh", StartTime: 103}})
	s.applyProcEvent(procfs.Fork{ParentPID: 1004, ChildPID: 1003, Child: procfs.Stat{PID: 1003, Comm: "sh", StartTime: 104}})
	s.applyProcEvent(procfs.Exit{PID: 1004, Time: testTime.Add(time.Millisecond)})
	s.applyProcEvent(procfs.Exit{PID: 1002, Time: testTime.Add(time.Millisecond)})
	s.handleAudit(conn)
	if s.counts.Alerts != 0 {
		t.Errorf("%d alerts for a grandchild, want 0", s.counts.Alerts)
	}
	child, _ := s.tree.Get(1003)
	if child.Parent == nil || child.Parent.PID != 1004 || len(child.Ancestry) < 2 || child.Ancestry[1] != s.mustGet(t, 1002).EntityID {
		t.Errorf("grandchild parent %+v ancestry %v, want the middle process then the shell", child.Parent, child.Ancestry)
	}
}

func (s *sensor) mustGet(t *testing.T, pid int) *Entity {
	t.Helper()
	p, ok := s.tree.Get(pid)
	if !ok {
		t.Fatalf("pid %d not in the tree", pid)
	}
	return p
}

// The start-up scan links processes to the parent /proc names, parents
// before children whatever their pids (pids wrap).
func TestLinkScannedAncestry(t *testing.T) {
	tree, _ := NewTree(testBoot, 64)
	procs := []*Entity{
		tree.Put(&Entity{PID: 1, StartTicks: 1}),
		tree.Put(&Entity{PID: 5, PPID: 900, StartTicks: 9}),
		tree.Put(&Entity{PID: 900, PPID: 1, StartTicks: 8}),
		tree.Put(&Entity{PID: 7, PPID: 8, StartTicks: 3}), // a cycle, as a corrupt fixture
		tree.Put(&Entity{PID: 8, PPID: 7, StartTicks: 4}),
	}
	linkScanned(procs)
	p5 := procs[1]
	if p5.Parent != procs[2] || len(p5.Ancestry) != 2 || p5.Ancestry[0] != procs[2].EntityID || p5.Ancestry[1] != procs[0].EntityID {
		t.Errorf("pid 5: parent %+v ancestry %v, want 900 then 1", p5.Parent, p5.Ancestry)
	}
}

// Ancestry stays bounded however deep the fork chain.
func TestAncestryBounded(t *testing.T) {
	tree, _ := NewTree(testBoot, 64)
	var parent *Entity
	for pid := 1; pid <= 100; pid++ {
		p := tree.Put(&Entity{PID: pid, StartTicks: uint64(pid)})
		Link(p, parent)
		parent = p
	}
	if len(parent.Ancestry) != MaxAncestry || parent.Ancestry[0] != EntityID(testBoot, 99, 99) {
		t.Errorf("ancestry of pid 100: %d ids, first %q", len(parent.Ancestry), parent.Ancestry[0])
	}
}

// A process resolved from /proc after the bound (its fork event late) is
// relinked to its parent at fork when that fork event comes, keeping the
// same entity.
func TestLateForkRelinksProcEntity(t *testing.T) {
	s := benchSensor(t)
	s.res.wait = time.Millisecond
	s.res.readEntity = func(pid int) (*Entity, bool) {
		if pid != 1002 {
			return nil, false
		}
		return &Entity{PID: 1002, PPID: 1, StartTicks: 102, Name: "sh", Source: "proc"}, true
	}
	exec, _ := hookChain(s, testTime, 1002)
	s.handleAudit(exec)
	s.res.expire(time.Now().Add(time.Second))
	p := s.mustGet(t, 1002)
	if p.Source != "proc" || p.Parent != nil {
		t.Fatalf("after the bound: %+v, want read from /proc with no parent known", p)
	}
	s.applyProcEvent(procfs.Fork{ParentPID: 1001, ChildPID: 1002, Child: procfs.Stat{PID: 1002, Comm: "apt", StartTime: 102}})
	if got := s.mustGet(t, 1002); got != p || p.Parent == nil || p.Parent.PID != 1001 || p.PPID != 1001 || len(p.Ancestry) != 2 {
		t.Errorf("after the late fork: %+v, want the same entity linked to 1001", got)
	}
}

// A fork comes without the child's comm (procfs.Fork.Child): the child is
// named after the parent it forked from, whose comm it inherited.
func TestGoneChildTakesItsParentsName(t *testing.T) {
	s := benchSensor(t)
	s.tree.Put(&Entity{PID: 1000, PPID: 1, StartTicks: 100, Name: "apt", Executable: "/usr/bin/apt", Source: "scan"})
	s.applyProcEvent(procfs.Fork{ParentPID: 1000, ChildPID: 1001, Child: procfs.Stat{PID: 1001, PPID: 1000, StartTime: 101}})
	p, ok := s.tree.Get(1001)
	if !ok || p.Name != "apt" || p.Executable != "/usr/bin/apt" {
		t.Fatalf("child %+v (found %v), want named apt after its parent", p, ok)
	}
}
