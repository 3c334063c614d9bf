package sensor

import (
	"testing"
	"time"
)

const testBoot = "0e6b1a52-6d5e-4d43-9f7e-3c1d2b0a9f11"

var testTime = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

// fakeHost is a /proc and a proc connector for the resolver: procs are what
// /proc shows now, pending are fork events not yet delivered.
type fakeHost struct {
	tree    *Tree
	procs   map[int]*Proc
	pending []*Proc
	reads   int
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	tree, err := NewTree(testBoot, 64)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeHost{tree: tree, procs: map[int]*Proc{}}
}

func (h *fakeHost) resolver(wait time.Duration) *resolver {
	return &resolver{
		tree: h.tree,
		readProc: func(pid int) (*Proc, bool) {
			h.reads++
			p, ok := h.procs[pid]
			if !ok {
				return nil, false
			}
			c := *p
			return &c, true
		},
		nextProcEvent: func(deadline time.Time) bool {
			if len(h.pending) == 0 {
				time.Sleep(time.Until(deadline))
				return false
			}
			h.tree.Put(h.pending[0])
			h.pending = h.pending[1:]
			return true
		},
		wait: wait,
	}
}

func TestResolverCacheHit(t *testing.T) {
	h := newFakeHost(t)
	want := h.tree.Put(&Proc{PID: 10, PPID: 1, StartTicks: 5, Name: "apt", Source: "fork"})
	r := h.resolver(time.Second)
	if got := r.process(10, 1); got != want {
		t.Fatalf("process(10,1) = %+v, want the cached entity", got)
	}
	if h.reads != 0 || r.stats.FromCache != 1 {
		t.Errorf("reads=%d stats=%+v, want a pure cache hit", h.reads, r.stats)
	}
}

// The forked apt that runs a hook never execs and may be gone from /proc
// when the shell's exec is read: its fork event, still in flight, resolves it.
func TestResolverWaitsForForkEvent(t *testing.T) {
	h := newFakeHost(t)
	h.pending = []*Proc{
		{PID: 99, PPID: 1, StartTicks: 7, Name: "cron", Source: "fork"},
		{PID: 11, PPID: 10, StartTicks: 8, Name: "apt", Source: "fork"},
	}
	r := h.resolver(time.Second)
	p := r.parent(11)
	if p.Name != "apt" || p.EntityID != EntityID(testBoot, 11, 8) {
		t.Fatalf("parent(11) = %+v, want the forked apt", p)
	}
	if r.stats.AfterWait != 1 || len(h.pending) != 0 {
		t.Errorf("stats=%+v pending=%d, want found after applying both events", r.stats, len(h.pending))
	}
}

func TestResolverReadsProc(t *testing.T) {
	h := newFakeHost(t)
	h.procs[12] = &Proc{PID: 12, PPID: 11, StartTicks: 9, Name: "sh", Source: "proc"}
	r := h.resolver(time.Second)
	p := r.process(12, 11)
	if p.EntityID != EntityID(testBoot, 12, 9) || r.stats.FromProc != 1 {
		t.Fatalf("process(12,11) = %+v stats %+v, want read from /proc", p, r.stats)
	}
	if got, _ := h.tree.Get(12); got != p {
		t.Error("a process read from /proc is not cached")
	}
}

// An entity the cache has with another parent is an older process with the
// same pid: the newer one, from /proc, wins.
func TestResolverPidReuse(t *testing.T) {
	h := newFakeHost(t)
	old := h.tree.Put(&Proc{PID: 13, PPID: 1, StartTicks: 2, Name: "old", Source: "fork"})
	h.procs[13] = &Proc{PID: 13, PPID: 20, StartTicks: 50, Name: "new", Source: "proc"}
	r := h.resolver(time.Second)
	p := r.process(13, 20)
	if p.Name != "new" || p.EntityID == old.EntityID {
		t.Fatalf("process(13,20) = %+v, want the newer process", p)
	}
}

func TestResolverBoundedWait(t *testing.T) {
	h := newFakeHost(t)
	r := h.resolver(20 * time.Millisecond)
	start := time.Now()
	p := r.parent(77)
	if el := time.Since(start); el < 20*time.Millisecond || el > time.Second {
		t.Errorf("parent of an unknown pid took %v, want the 20ms bound", el)
	}
	if p.Name != "" || p.Source != "audit" || r.stats.Unresolved != 1 {
		t.Errorf("parent(77) = %+v stats %+v, want an unresolved entity", p, r.stats)
	}
}

// A /proc read of a process the cache knows by its fork must not replace
// the cached entity (which may carry exec data) with a poorer copy.
func TestResolverKeepsRicherEntity(t *testing.T) {
	h := newFakeHost(t)
	rich := h.tree.Put(&Proc{PID: 14, PPID: 1, StartTicks: 3, Name: "sh", Args: []string{"sh", "-c", "x"}, Source: "fork"})
	r := h.resolver(time.Second)
	h.procs[14] = &Proc{PID: 14, PPID: 1, StartTicks: 3, Name: "sh", Source: "proc"}
	if got := r.keep(h.procs[14]); got != rich {
		t.Errorf("keep replaced the cached entity: %+v", got)
	}
}
