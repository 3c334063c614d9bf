package sensor

import (
	"slices"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

const testBoot = "0e6b1a52-6d5e-4d43-9f7e-3c1d2b0a9f11"

var testTime = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

// fakeHost is a /proc for the resolver (procs: what /proc shows now) and
// a recorder of the events it releases.
type fakeHost struct {
	tree     *Tree
	procs    map[int]*Entity
	reads    int
	released []released
}

type released struct {
	p      *Entity
	serial uint64
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	tree, err := NewTree(testBoot, 64)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeHost{tree: tree, procs: map[int]*Entity{}}
}

func (h *fakeHost) resolver(wait time.Duration) *resolver {
	r := newResolver(h.tree, wait)
	r.readEntity = func(pid int) (*Entity, bool) {
		h.reads++
		p, ok := h.procs[pid]
		if !ok {
			return nil, false
		}
		c := *p
		return &c, true
	}
	r.readStart = func(pid int) (uint64, bool) {
		h.reads++
		p, ok := h.procs[pid]
		if !ok {
			return 0, false
		}
		return p.StartTicks, true
	}
	r.release = func(p *Entity, ev audit.Event) {
		h.released = append(h.released, released{p, ev.EventSerial()})
	}
	return r
}

// serials are the serials released so far, in order.
func (h *fakeHost) serials() []uint64 {
	var out []uint64
	for _, r := range h.released {
		out = append(out, r.serial)
	}
	return out
}

func connectOf(serial uint64, pid, ppid int, at time.Time) *audit.Connect {
	return &audit.Connect{Time: at, Serial: serial, Subject: audit.Subject{PID: pid, PPID: ppid, Comm: "bash"}}
}

func send(r *resolver, ev *audit.Connect, now time.Time) {
	r.resolve(ev, ev.Subject.PID, ev.Subject.PPID, now)
}

func TestResolverCacheHit(t *testing.T) {
	h := newFakeHost(t)
	want := h.tree.Put(&Entity{PID: 10, PPID: 1, StartTicks: 5, Name: "apt", Source: "fork"})
	r := h.resolver(time.Second)
	send(r, connectOf(1, 10, 1, testTime), testTime)
	if len(h.released) != 1 || h.released[0].p != want {
		t.Fatalf("released %+v, want the cached entity at once", h.released)
	}
	if h.reads != 0 || r.stats.FromCache != 1 || r.nheld != 0 {
		t.Errorf("reads=%d stats=%+v, want a pure cache hit", h.reads, r.stats)
	}
}

// The forked apt that runs a hook never execs and may be gone from /proc
// when the shell's exec is read: the event waits for its fork event, which
// gives it its entity and its parent at fork; the resolver does not block.
func TestResolverHoldsUntilFork(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(time.Second)
	send(r, connectOf(1, 11, 10, testTime), testTime)
	send(r, connectOf(2, 11, 10, testTime), testTime)
	if len(h.released) != 0 || r.nheld != 2 || h.reads != 0 {
		t.Fatalf("released %d, held %d, reads %d: want both held, /proc not read", len(h.released), r.nheld, h.reads)
	}
	parent := h.tree.Put(&Entity{PID: 10, StartTicks: 3, Name: "apt", Source: "fork"})
	child := h.tree.Put(&Entity{PID: 11, PPID: 10, StartTicks: 8, Name: "apt", Source: "fork"})
	Link(child, parent)
	r.forked(child, parent)
	if got := h.serials(); !slices.Equal(got, []uint64{1, 2}) || h.released[0].p != child {
		t.Fatalf("released %v with %+v, want 1 then 2 with the forked entity", got, h.released[0].p)
	}
	if r.stats.AfterFork != 2 || r.nheld != 0 || len(r.held) != 0 {
		t.Errorf("stats %+v held %d, want both released after the fork", r.stats, r.nheld)
	}
	if _, ok := r.nextDeadline(); ok {
		t.Error("a deadline is still armed with nothing held")
	}
}

// An event of a pid that is held goes behind the held ones even when its
// process became known meanwhile: one process's events stay in order.
func TestResolverKeepsOrderPerProcess(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(time.Second)
	send(r, connectOf(1, 12, 1, testTime), testTime)
	h.tree.Put(&Entity{PID: 12, PPID: 1, StartTicks: 9, Source: "proc"}) // e.g. read by someone else
	send(r, connectOf(2, 12, 1, testTime), testTime)
	if len(h.released) != 0 {
		t.Fatalf("event 2 overtook held event 1: %v", h.serials())
	}
	r.expire(testTime.Add(2 * time.Second))
	if got := h.serials(); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("released %v, want [1 2]", got)
	}
}

// Past the bound, a process whose fork never came is read from /proc, its
// parent there being the best knowledge; one gone from /proc is built from
// the audit record.
func TestResolverBoundThenProcThenAudit(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(20 * time.Millisecond)
	init := h.tree.Put(&Entity{PID: 1, StartTicks: 1, Name: "systemd", Source: "scan"})
	h.procs[13] = &Entity{PID: 13, PPID: 1, StartTicks: 50, Name: "sh", Source: "proc"}
	send(r, connectOf(1, 13, 1, testTime), testTime)
	send(r, connectOf(2, 77, 1, testTime), testTime.Add(time.Millisecond))
	if d, ok := r.nextDeadline(); !ok || !d.Equal(testTime.Add(20*time.Millisecond)) {
		t.Fatalf("nextDeadline = %v %v, want the first event's bound", d, ok)
	}
	r.expire(testTime.Add(19 * time.Millisecond))
	if len(h.released) != 0 {
		t.Fatal("released before the bound")
	}
	r.expire(testTime.Add(20 * time.Millisecond))
	if len(h.released) != 1 || h.released[0].p.Source != "proc" || h.released[0].p.Parent != init {
		t.Fatalf("after the first bound: %+v, want pid 13 from /proc, parent init", h.released)
	}
	r.expire(testTime.Add(time.Second))
	if len(h.released) != 2 {
		t.Fatalf("released %d, want 2", len(h.released))
	}
	p := h.released[1].p
	if p.Source != "audit" || p.PID != 77 || p.Parent != init || r.stats.Unresolved != 1 || r.stats.FromProc != 1 {
		t.Errorf("pid 77 = %+v stats %+v, want built from audit, parent init", p, r.stats)
	}
	if got := p.Ancestry; !slices.Equal(got, []string{init.EntityID}) {
		t.Errorf("ancestry %v, want [init]", got)
	}
}

// A reparented process: the audit ppid names the reaper, but the start time
// in /proc is the cached entity's, so it is the same process and keeps its
// parent at fork. /proc is read once per new ppid, not per event.
func TestResolverReparentedKeepsParentAtFork(t *testing.T) {
	h := newFakeHost(t)
	shell := h.tree.Put(&Entity{PID: 20, PPID: 11, StartTicks: 9, Name: "sh", Source: "fork"})
	child := h.tree.Put(&Entity{PID: 21, PPID: 20, StartTicks: 10, Name: "bash", Source: "fork"})
	Link(child, shell)
	h.tree.Exit(20, testTime)
	h.procs[21] = &Entity{PID: 21, PPID: 1, StartTicks: 10}
	r := h.resolver(time.Second)
	send(r, connectOf(1, 21, 1, testTime.Add(2*time.Second)), testTime.Add(2*time.Second))
	send(r, connectOf(2, 21, 1, testTime.Add(2*time.Second)), testTime.Add(2*time.Second))
	if len(h.released) != 2 || h.released[0].p != child || child.Parent != shell {
		t.Fatalf("released %+v, want the cached child, parent still the shell", h.released)
	}
	if h.reads != 1 || r.stats.Reparented != 1 {
		t.Errorf("reads %d stats %+v, want one start-time check", h.reads, r.stats)
	}
}

// A changed ppid with another start time in /proc is a reused pid: the
// event waits for the new process's fork.
func TestResolverPIDReuseByStartTime(t *testing.T) {
	h := newFakeHost(t)
	old := h.tree.Put(&Entity{PID: 30, PPID: 1, StartTicks: 2, Name: "old", Source: "fork"})
	h.procs[30] = &Entity{PID: 30, PPID: 40, StartTicks: 60}
	r := h.resolver(time.Second)
	send(r, connectOf(1, 30, 40, testTime), testTime)
	if len(h.released) != 0 || r.stats.PIDReused != 1 {
		t.Fatalf("released %+v stats %+v, want held as a new process", h.released, r.stats)
	}
	parent := h.tree.Put(&Entity{PID: 40, StartTicks: 59, Name: "cron", Source: "fork"})
	p := h.tree.Put(&Entity{PID: 30, PPID: 40, StartTicks: 60, Source: "fork"})
	Link(p, parent)
	r.forked(p, parent)
	if len(h.released) != 1 || h.released[0].p == old || h.released[0].p.Parent != parent {
		t.Errorf("released %+v, want the new process", h.released)
	}
}

// An event stamped after the cached process exited is a newer process's.
func TestResolverExitedBeforeEvent(t *testing.T) {
	h := newFakeHost(t)
	h.tree.Put(&Entity{PID: 31, PPID: 1, StartTicks: 2, Source: "fork"})
	h.tree.Exit(31, testTime)
	r := h.resolver(time.Second)
	send(r, connectOf(1, 31, 1, testTime.Add(-time.Millisecond)), testTime)
	send(r, connectOf(2, 32, 1, testTime), testTime) // unrelated
	h.tree.Put(&Entity{PID: 33, PPID: 1, StartTicks: 3, Source: "fork"})
	if len(h.released) != 1 || h.released[0].serial != 1 {
		t.Fatalf("a late event of the exited process was not its own: %v", h.serials())
	}
	h.tree.Put(&Entity{PID: 31, PPID: 1, StartTicks: 2, Source: "fork"})
	h.tree.Exit(31, testTime)
	send(r, connectOf(3, 31, 1, testTime.Add(time.Millisecond)), testTime)
	if len(h.released) != 1 {
		t.Errorf("an event after the exit went to the exited process: %v", h.serials())
	}
}

// The held table is bounded: when full, the oldest pid is resolved early.
func TestResolverHeldBounded(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(time.Hour)
	r.maxHeld = 3
	for i := range 5 {
		send(r, connectOf(uint64(i+1), 100+i, 1, testTime), testTime)
	}
	if r.nheld != 3 || r.stats.ReleasedEarly != 2 || !slices.Equal(h.serials(), []uint64{1, 2}) {
		t.Errorf("held %d released %v stats %+v, want 3 held and the 2 oldest released", r.nheld, h.serials(), r.stats)
	}
}

// A fork by a process whose events are held proves it alive: its events go
// out (from /proc) before any of its child's.
func TestResolverForkReleasesHeldParent(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(time.Hour)
	h.procs[50] = &Entity{PID: 50, PPID: 1, StartTicks: 70, Name: "sh"}
	send(r, connectOf(1, 50, 1, testTime), testTime)
	send(r, connectOf(2, 51, 50, testTime), testTime)
	parent := h.tree.Put(&Entity{PID: 50, PPID: 1, StartTicks: 70, Name: "sh", Source: "proc"})
	child := h.tree.Put(&Entity{PID: 51, PPID: 50, StartTicks: 71, Source: "fork"})
	Link(child, parent)
	r.forked(child, parent)
	if got := h.serials(); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("released %v, want the parent's event first", got)
	}
}

func FuzzResolverNeverLosesEvents(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1, 200, 2, 5, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tree, _ := NewTree(testBoot, 64)
		r := newResolver(tree, 10*time.Millisecond)
		r.maxHeld = 8
		r.readEntity = func(int) (*Entity, bool) { return nil, false }
		r.readStart = func(int) (uint64, bool) { return 0, false }
		out := 0
		r.release = func(*Entity, audit.Event) { out++ }
		now, in := testTime, 0
		for i, op := range ops {
			pid := int(op%16) + 2
			switch op >> 6 {
			case 0, 1:
				in++
				send(r, connectOf(uint64(i), pid, 1, now), now)
			case 2:
				p := tree.Put(&Entity{PID: pid, PPID: 1, StartTicks: uint64(i), Source: "fork"})
				r.forked(p, p)
			case 3:
				now = now.Add(time.Duration(op&63) * time.Millisecond)
				r.expire(now)
			}
			if r.nheld > r.maxHeld || r.nheld+out != in {
				t.Fatalf("held %d + released %d != pushed %d (max %d)", r.nheld, out, in, r.maxHeld)
			}
		}
		r.expire(now.Add(time.Hour))
		if out != in || len(r.held) != 0 {
			t.Fatalf("after the bound: released %d of %d, %d pids still held", out, in, len(r.held))
		}
	})
}

// When the connector lags for a whole chain (apt's hook runner and its
// shell), the bound's /proc fallback reads the parent from /proc too, so
// the shell's event still names its parent; the forks, when they come,
// relink both to their parents at fork.
func TestResolverFallbackReadsParent(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(10 * time.Millisecond)
	h.procs[60] = &Entity{PID: 60, PPID: 1, StartTicks: 80, Name: "apt", Source: "proc"}
	h.procs[61] = &Entity{PID: 61, PPID: 60, StartTicks: 81, Name: "sh", Source: "proc"}
	send(r, connectOf(1, 61, 60, testTime), testTime)
	r.expire(testTime.Add(time.Second))
	if len(h.released) != 1 {
		t.Fatalf("released %d", len(h.released))
	}
	p := h.released[0].p
	if p.Parent == nil || p.Parent.Name != "apt" || p.Parent.EntityID != EntityID(testBoot, 60, 80) {
		t.Errorf("parent %+v, want apt read from /proc", p.Parent)
	}
}
