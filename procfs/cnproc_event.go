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
	// Child is the child's pid, ParentPID as PPID and its start time
	// (the unit of Stat.StartTime), computed from TimestampNS: exact,
	// as any later /proc read gives it, unless the kernel was held up for
	// more than forkGuard between setting the child's start and stamping
	// the event (then one tick high: SameStart). For a fork stamped near a
	// tick boundary the child's /proc/<child>/stat is read at once
	// instead (StatRead), which also gives its comm and state. A child's
	// comm is its parent's, unless it exec'd or renamed itself: the Exec
	// and Comm events that follow tell.
	Child Stat
	// StatRead is set when Child was read from /proc (the stamp lay near
	// a tick boundary and the child was still there).
	StatRead bool
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
