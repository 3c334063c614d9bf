package sensor

import (
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Entity is what the sensor knows of one process, from its fork (or the
// scan) to its exit and across its execs: one entity, named by EntityID.
type Entity struct {
	PID int
	// PPID is the pid of Parent: the process that forked this one (from the
	// fork event), or the parent /proc named when the process was read there
	// (the scan, or a process whose fork was never seen). It is not the
	// audit record's ppid=, which names a reaper once the parent has died.
	PPID       int
	StartTicks uint64 // /proc/<pid>/stat starttime, clock ticks since boot
	EntityID   string
	Name       string // comm
	Executable string
	Args       []string
	// ArgsTruncated is set when Args is a capped copy of a longer argv
	// (audit.Exec.ArgsTruncated); Argc is then the real count.
	ArgsTruncated bool
	Argc          int
	Cwd           string
	UID           uint32
	// Parent is the parent at fork, kept for the process's whole life (and
	// across exec), as Elastic Defend reports process.parent: never the
	// reaper the kernel handed it to. It is a live pointer, so an exec of
	// the parent seen later shows in the parent's name. nil when unknown.
	Parent *Entity
	// Ancestry is the entity ids of the ancestors by parent at fork, nearest
	// first, at most MaxAncestry (process.Ext.ancestry).
	Ancestry []string
	// Exited is set by the exit event, at ExitTime. The entity stays in the
	// cache: events of the audit stream can still name it (the two streams
	// are not in step).
	Exited   bool
	ExitTime time.Time
	// Source says where the entity was learned: "scan", "fork", "proc" (read
	// on demand) or "audit" (built from the audit record alone, start time
	// unknown: its entity id is not joinable with /proc's).
	Source string
	// connExecs counts the execs the proc connector reported for this
	// entity, auditExecs those whose audit event was applied (the image
	// above is that exec's), execsAhead audit events applied before the
	// connector's report of the same exec; heirs are children forked
	// with an image that was not yet the latest one, and heirPending
	// marks such a child (image.go). renamed: the process set its comm
	// itself (prctl).
	connExecs, auditExecs, execsAhead int
	heirs                             []heir
	heirPending, renamed              bool
	// auditPPID is an audit ppid= already checked against /proc's start
	// time for this entity (a reparented process), so the check runs once
	// per reparenting, not per event.
	auditPPID int
	// cost is what the tree counts for this entity in Tree.Bytes.
	cost int
}

// entityOverhead approximates the fixed heap cost of one cached entity: the
// Entity itself, its entity id and the LRU's list element and map entry.
const entityOverhead = 400

// costOf estimates the bytes p holds. Strings shared with a parent (a fork
// copies the parent's argv) are counted again: the estimate errs high.
func costOf(p *Entity) int {
	n := entityOverhead + len(p.Name) + len(p.Executable) + len(p.Cwd) + 16*len(p.Ancestry)
	for _, a := range p.Args {
		n += 16 + len(a)
	}
	return n
}

// MaxAncestry bounds Entity.Ancestry. Lineage rules look a few levels up
// (an apt hook's descendants are rarely deeper than ten); the bound keeps a
// fork chain from costing memory per level.
const MaxAncestry = 32

// DefaultCacheBytes bounds the process cache's estimated bytes (costOf):
// the entry bound alone would let 32,768 entities with capped 4 KiB argvs
// and full ancestries hold some 160 MiB. A typical entity costs about 500
// bytes, so the byte bound only bites under argv-heavy exec storms.
const DefaultCacheBytes = 64 << 20

// DefaultCacheSize bounds the process cache. A busy server has a few
// thousand live processes; the rest of the room keeps recently exited ones,
// whose audit events can arrive after their exit event.
const DefaultCacheSize = 32768

// Tree is the process tree: an LRU-bounded map from pid to the newest
// process with that pid, each process linked to its parent at fork. It is
// not safe for concurrent use: the sensor's event loop owns it.
type Tree struct {
	bootID   string
	cache    *lru.Cache[int, *Entity]
	evicted  uint64
	bytes    int // estimated bytes of the cached entities
	maxBytes int
}

// NewTree returns an empty tree holding at most size processes and about
// DefaultCacheBytes of them.
func NewTree(bootID string, size int) (*Tree, error) {
	if size < 64 {
		return nil, fmt.Errorf("process cache size %d is too small (minimum 64)", size)
	}
	t := &Tree{bootID: bootID, maxBytes: DefaultCacheBytes}
	c, err := lru.NewWithEvict[int, *Entity](size, func(_ int, p *Entity) {
		t.evicted++
		t.bytes -= p.cost
		p.cost = 0
		// A live child keeps its parent reachable through Parent; cutting
		// the link of an exited, evicted process stops a chain of dead
		// ancestors (a process that forks and exits, again and again) from
		// being kept in memory beyond the cache's bound. Its children keep
		// their Ancestry ids.
		if p.Exited {
			p.Parent = nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("process cache: %w", err)
	}
	t.cache = c
	return t, nil
}

// Put records p, computing its entity id, and replaces any older process
// with the same pid (pid reuse).
func (t *Tree) Put(p *Entity) *Entity {
	if p.EntityID == "" {
		p.EntityID = EntityID(t.bootID, p.PID, p.StartTicks)
	}
	if old, ok := t.cache.Peek(p.PID); ok && old != p {
		t.bytes -= old.cost // replaced without an eviction callback
		old.cost = 0
	}
	t.bytes -= p.cost
	p.cost = costOf(p)
	t.bytes += p.cost
	t.cache.Add(p.PID, p)
	t.shrink()
	return p
}

// Resize accounts for a change of p's argv or paths (an exec).
func (t *Tree) Resize(p *Entity) {
	if cur, ok := t.cache.Peek(p.PID); !ok || cur != p {
		return
	}
	t.bytes -= p.cost
	p.cost = costOf(p)
	t.bytes += p.cost
	t.shrink()
}

// shrink evicts the least recently used entities while the estimate is
// over the byte bound, keeping at least a small working set.
func (t *Tree) shrink() {
	for t.bytes > t.maxBytes && t.cache.Len() > 64 {
		t.cache.RemoveOldest()
	}
}

// Bytes is the estimated heap held by the cached entities.
func (t *Tree) Bytes() int { return t.bytes }

// Link makes parent the parent at fork of p and computes p's ancestry
// from the parent's. parent may be nil (unknown).
func Link(p, parent *Entity) {
	p.Parent = parent
	p.Ancestry = nil
	if parent == nil {
		return
	}
	n := min(len(parent.Ancestry), MaxAncestry-1)
	a := make([]string, 0, n+1)
	a = append(a, parent.EntityID)
	p.Ancestry = append(a, parent.Ancestry[:n]...)
}

// Get returns the newest process known with this pid.
func (t *Tree) Get(pid int) (*Entity, bool) {
	return t.cache.Get(pid)
}

// Exit marks the process with this pid as exited at time at.
func (t *Tree) Exit(pid int, at time.Time) {
	if p, ok := t.cache.Peek(pid); ok {
		p.Exited, p.ExitTime = true, at
	}
}

// Len is the number of processes in the cache.
func (t *Tree) Len() int { return t.cache.Len() }

// Evicted counts processes pushed out of the full cache.
func (t *Tree) Evicted() uint64 { return t.evicted }

// linkScanned links the processes of the start-up scan to their parents
// by ppid, parents before children so that ancestry builds from the root
// down (pids wrap, so a parent can have the higher pid).
func linkScanned(procs []*Entity) {
	byPID := make(map[int]*Entity, len(procs))
	children := make(map[int][]*Entity, len(procs))
	for _, p := range procs {
		byPID[p.PID] = p
	}
	var roots []*Entity
	for _, p := range procs {
		if _, ok := byPID[p.PPID]; ok && p.PPID != p.PID {
			children[p.PPID] = append(children[p.PPID], p)
		} else {
			roots = append(roots, p)
		}
	}
	queue := roots
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p.PID] {
			Link(c, p)
			queue = append(queue, c)
		}
		delete(children, p.PID) // a (corrupt) cycle is walked at most once
	}
}
