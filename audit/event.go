package audit

import (
	"net/netip"
	"syscall"
	"time"
)

// Subject is what the SYSCALL record tells about the task that made the
// syscall. PIDs are in the initial PID namespace (the kernel reports them so).
type Subject struct {
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
	Subject Subject   // after the exec: Comm and Exe are the new image's
	// Args is the raw argv, argv[0] included, reassembled from EXECVE
	// records, also when split over records or given in a<N>[k]= chunks.
	// It is capped (AssemblerConfig.MaxArgBytes): with ArgsTruncated set it
	// is the leading arguments that fit, the last one maybe cut, and Argc
	// is still the real count.
	Args          []string
	ArgsTruncated bool
	// Argc is the argument count the kernel announced in the EXECVE record
	// (-1 if no EXECVE record arrived). It differs from len(Args) when
	// records were lost or cut (the Assembler then also reports an error
	// wrapping ErrArgcMismatch) or when the arguments were truncated.
	Argc int
	// Cwd is the working directory from the CWD record ("" if absent).
	Cwd string
}

// Connect is one connect() attempt (also via socketcall) to an AF_INET or
// AF_INET6 address. Failed attempts are kept: an attempt is the signal.
type Connect struct {
	Time    time.Time
	Serial  uint64
	Subject Subject
	// Dest is the address and port from the SOCKADDR record; IPv4-mapped
	// IPv6 addresses are kept as the kernel gave them.
	Dest netip.AddrPort
	// Success is the syscall's success flag; Errno is the error when it
	// failed (for example ECONNREFUSED, ENETUNREACH, EINPROGRESS), else 0.
	Success bool
	Errno   syscall.Errno
	// ResultUnknown: audit does not say how the attempt ended (an
	// io_uring connect: URINGOP's exit= is the return, not the
	// completion's result); Success and Errno are then false and 0.
	ResultUnknown bool
}

// EventTime returns the record timestamp; it makes Exec an Event.
func (e *Exec) EventTime() time.Time { return e.Time }

// EventSerial returns the audit event serial.
func (e *Exec) EventSerial() uint64 { return e.Serial }

func (*Exec) isEvent() {}

// EventTime returns the record timestamp; it makes Connect an Event.
func (c *Connect) EventTime() time.Time { return c.Time }

// EventSerial returns the audit event serial.
func (c *Connect) EventSerial() uint64 { return c.Serial }

func (*Connect) isEvent() {}
