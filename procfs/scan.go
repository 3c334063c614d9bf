package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// AllPIDs lists the numeric entries of the root: one per process (thread
// group) in the FS's pid namespace, in ascending order. Threads are not
// listed there (they live under /proc/<pid>/task).
func (f FS) AllPIDs() ([]int, error) {
	entries, err := os.ReadDir(f.root)
	if err != nil {
		return nil, fmt.Errorf("procfs: list %s: %w", f.root, err)
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		pid, err := parseUint([]byte(e.Name()), 31)
		if err != nil || pid == 0 {
			continue // self, thread-self, cpuinfo, sys, ...
		}
		pids = append(pids, int(pid))
	}
	sort.Ints(pids)
	return pids, nil
}

// Snapshot is what the start-up scan knows of one process: the fields the
// sensor needs to seed its process tree before the first event arrives.
type Snapshot struct {
	PID       int
	PPID      int
	StartTime uint64 // clock ticks since boot; see TicksToDuration
	Comm      string
	// Exe is the executable's path ("" for kernel threads and zombies).
	Exe        string
	ExeDeleted bool
	// Args is the raw argv (nil for kernel threads and zombies).
	Args []string
	Cwd  string
	UID  uint32 // real uid
	// KernelThread marks kernel threads. They are kept so that chains through
	// kthreadd (pid 2) resolve, with empty Exe, Args and Cwd.
	KernelThread bool
	// Incomplete marks a process whose exe or cwd link could not be read
	// for lack of privilege; those fields are then empty.
	Incomplete bool
}

// Snapshot reads one process the way Scan does. The error wraps ErrGone when
// the process exited during the read.
//
// Even root may be refused the exe and cwd links: reading them is a ptrace
// access check (PTRACE_MODE_READ_FSCREDS, see ptrace(2), "Ptrace access mode
// checking"), which fails with EACCES when the target holds capabilities the
// reader lacks, as a container's or sandbox's init often does. The process
// is then still returned, filled with everything else and marked Incomplete,
// together with an error wrapping fs.ErrPermission that says what failed.
func (f FS) Snapshot(pid int) (Snapshot, error) {
	p := f.Proc(pid)
	st, err := p.Stat()
	if err != nil {
		return Snapshot{}, err
	}
	out := Snapshot{
		PID:          st.PID,
		PPID:         st.PPID,
		StartTime:    st.StartTime,
		Comm:         st.Comm,
		KernelThread: st.KernelThread(),
	}
	status, err := p.Status()
	if err != nil {
		return Snapshot{}, err
	}
	out.UID = status.UID
	if out.KernelThread {
		return out, nil
	}
	var denied []error
	exe, err := p.Exe()
	switch {
	case errors.Is(err, fs.ErrPermission):
		denied = append(denied, err)
	case err != nil:
		return Snapshot{}, err
	}
	out.Exe, out.ExeDeleted = exe.Path, exe.Deleted
	if out.Args, err = p.Cmdline(); err != nil {
		return Snapshot{}, err
	}
	out.Cwd, err = p.Cwd()
	switch {
	case errors.Is(err, fs.ErrPermission):
		denied = append(denied, err)
	case err != nil:
		return Snapshot{}, err
	}
	// The pid may have been reused between the reads above; the start time
	// identifies the process, so read it again and compare.
	again, err := p.Stat()
	if err != nil {
		return Snapshot{}, err
	}
	if again.StartTime != st.StartTime {
		return Snapshot{}, fmt.Errorf("procfs: pid %d: reused during read: %w", pid, ErrGone)
	}
	out.Incomplete = len(denied) > 0
	return out, errors.Join(denied...)
}

// Scan reads every process. Processes that exit during the scan are skipped
// silently: that is normal on a live system.
//
// Permission errors are errors, but not fatal ones: a process whose links
// are refused (see FS.Snapshot) is kept, marked Incomplete, and its error joins
// the returned error. So when err wraps fs.ErrPermission the slice is still
// the full scan, and the caller should log err and use it. Any other failure
// stops the scan and returns no processes: a sensor blind to part of the
// tree must not pretend otherwise.
func (f FS) Scan() ([]Snapshot, error) {
	pids, err := f.AllPIDs()
	if err != nil {
		return nil, err
	}
	procs := make([]Snapshot, 0, len(pids))
	var denied []error
	for _, pid := range pids {
		p, err := f.Snapshot(pid)
		switch {
		case errors.Is(err, ErrGone):
			continue
		case p.Incomplete:
			denied = append(denied, err)
		case err != nil:
			return nil, fmt.Errorf("procfs: scan: %w", err)
		}
		procs = append(procs, p)
	}
	if len(denied) > 0 {
		return procs, fmt.Errorf("procfs: scan: %d processes incomplete: %w", len(denied), errors.Join(denied...))
	}
	return procs, nil
}
