package audit

import (
	"net/netip"
	"syscall"
	"time"
)

// Process is what the SYSCALL record tells about the task that made the
// syscall. PIDs are in the initial PID namespace (the kernel reports them so).
type Process struct {
	PID  int
	PPID int
	UID  uint32
	AUID uint32
	// Comm is the kernel's task comm (at most 15 bytes), decoded from hex when
	// the kernel encoded it.
	Comm string
	// Exe is the path of the executable, decoded like Comm.
	Exe string
}

// Exec is one successful execve or execveat.
type Exec struct {
	Time    time.Time // record timestamp (millisecond resolution)
	Serial  uint64    // audit event serial
	Process Process   // after the exec: Comm and Exe are the new image's
	// Args is the raw argv, argv[0] included, reassembled from EXECVE
	// records, also when split over records or given in a<N>[k]= chunks.
	Args []string
	// Cwd is the working directory from the CWD record ("" if absent).
	Cwd string
}

// Connect is one connect() attempt (also via socketcall) to an AF_INET or
// AF_INET6 address. Failed attempts are kept: an attempt is the signal.
type Connect struct {
	Time    time.Time
	Serial  uint64
	Process Process
	// Dest is the address and port from the SOCKADDR record; IPv4-mapped
	// IPv6 addresses are kept as the kernel gave them.
	Dest netip.AddrPort
	// Success is the syscall's success flag; Errno is the error when it
	// failed (for example ECONNREFUSED, ENETUNREACH, EINPROGRESS), else 0.
	Success bool
	Errno   syscall.Errno
}
