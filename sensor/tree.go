package sensor

import (
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Proc is what the sensor knows of one process: one entity.
type Proc struct {
	PID        int
	PPID       int
	StartTicks uint64 // /proc/<pid>/stat starttime, clock ticks since boot
	EntityID   string
	Name       string // comm
	Executable string
	Args       []string
	Cwd        string
	UID        uint32
	// Exited is set by the exit event. The entity stays in the cache: events
	// of the audit stream can still name it (the two streams are not in step).
	Exited bool
	// Source says where the entity was learned: "scan", "fork", "proc" (read
	// on demand) or "audit" (built from the audit record alone, start time
	// unknown: its entity id is not joinable with /proc's).
	Source string
}

// DefaultCacheSize bounds the process cache. A busy server has a few
// thousand live processes; the rest of the room keeps recently exited ones,
// whose audit events can arrive after their exit event.
const DefaultCacheSize = 32768

// Tree is the process tree: an LRU-bounded map from pid to the newest
// process with that pid. It is not safe for concurrent use: the sensor's
// event loop owns it.
type Tree struct {
	bootID  string
	cache   *lru.Cache[int, *Proc]
	evicted uint64
}

// NewTree returns an empty tree holding at most size processes.
func NewTree(bootID string, size int) (*Tree, error) {
	if size < 64 {
		return nil, fmt.Errorf("process cache size %d is too small (minimum 64)", size)
	}
	t := &Tree{bootID: bootID}
	c, err := lru.NewWithEvict[int, *Proc](size, func(int, *Proc) { t.evicted++ })
	if err != nil {
		return nil, fmt.Errorf("process cache: %w", err)
	}
	t.cache = c
	return t, nil
}

// Put records p, computing its entity id, and replaces any older process
// with the same pid (pid reuse).
func (t *Tree) Put(p *Proc) *Proc {
	if p.EntityID == "" {
		p.EntityID = EntityID(t.bootID, p.PID, p.StartTicks)
	}
	t.cache.Add(p.PID, p)
	return p
}

// Get returns the newest process known with this pid.
func (t *Tree) Get(pid int) (*Proc, bool) {
	return t.cache.Get(pid)
}

// Exit marks the process with this pid as exited.
func (t *Tree) Exit(pid int, _ time.Time) {
	if p, ok := t.cache.Peek(pid); ok {
		p.Exited = true
	}
}

// Len is the number of processes in the cache.
func (t *Tree) Len() int { return t.cache.Len() }

// Evicted counts processes pushed out of the full cache.
func (t *Tree) Evicted() uint64 { return t.evicted }
