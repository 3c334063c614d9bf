package procfs

import "time"

// Event is one process event from the proc connector: a Fork, Exec, Exit or
// Comm value.
//
// Only processes are reported, not threads: events whose task is not its
// thread group's leader (pid != tgid) are dropped and counted in
// ListenerStats.Threads. The sensor tracks processes (a thread shares its
// process's pid, exe, argv and entity id), and dropping threads at the
// source spares a /proc read for every pthread_create.
type Event interface {
	event()
}

// Fork is the birth of a new process.
type Fork struct {
	// Time is the wall-clock time of the fork; TimestampNS is the kernel's
	// raw CLOCK_MONOTONIC stamp it was derived from.
	Time        time.Time
	TimestampNS uint64
	// ParentPID is the process that forked (the parent's tgid, taken from
	// the kernel's task->real_parent at fork time). Use it, not Child.PPID,
	// to place the child in the tree: Child.PPID is what /proc said when
	// read, which is 1 or a subreaper once the parent has died.
	ParentPID int
	ChildPID  int
	// Child is /proc/<child>/stat, read as soon as the event arrived. Its
	// Comm is the parent's comm inherited at fork (for apt's hook runner:
	// "apt") unless the child exec'd or renamed itself before the read; the
	// Exec and Comm events that follow tell which. Its StartTime is exact:
	// the same value any later /proc read gives.
	Child Stat
	// Exact is false when the child was gone (or its pid already reused)
	// before it could be read. Child then holds the child's pid, ParentPID as
	// PPID, no comm (the child inherited its parent's: a consumer that
	// knows the parent has it), and a StartTime computed from
	// TimestampNS (see clockOffsets.startTicks): equal to the exact value or
	// at most one tick above it.
	Exact bool
}

// Exec is a successful execve by a process.
type Exec struct {
	Time        time.Time
	TimestampNS uint64
	PID         int
}

// Exit is the exit of a process (its thread group leader).
type Exit struct {
	Time        time.Time
	TimestampNS uint64
	PID         int
	// ExitCode is task->exit_code: the wait(2) status, so a normal exit
	// with status s is s<<8 and death by signal n is n.
	ExitCode uint32
	// ExitSignal is the signal the parent is sent (SIGCHLD, usually).
	ExitSignal uint32
	// ParentPID is the parent's tgid at exit, 0 on kernels that do not
	// report it.
	ParentPID int
}

// Comm is a process renaming itself (prctl PR_SET_NAME or a write to
// /proc/<pid>/comm). Exec changes the comm too but gives an Exec event, not
// a Comm event.
type Comm struct {
	Time        time.Time
	TimestampNS uint64
	PID         int
	Comm        string
}

func (Fork) event() {}
func (Exec) event() {}
func (Exit) event() {}
func (Comm) event() {}
