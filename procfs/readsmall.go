package procfs

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxStatLen bounds /proc/<pid>/stat. It is some 52 numbers of at most 20
// digits and a comm of at most 64 bytes (TASK_COMM_LEN, or a workqueue
// worker's longer name), well under 2 KiB.
const maxStatLen = 2048

// statBufs recycles read buffers: a buffer handed to read(2) escapes, so a
// fresh one would cost a 2 KiB allocation per fork event.
var statBufs = sync.Pool{New: func() any { return new([maxStatLen]byte) }}

// readStatFile reads /proc/<pid>/stat into buf with raw system calls. It is
// the listener's per-fork cost, so it skips os.File (its allocations and
// its runtime poller registration), which os.ReadFile would pay, and the
// runtime's syscall entry too: /proc reads do not block on I/O, and
// entering a system call the runtime's way wakes the runtime's monitor
// thread (sysmon) when the process was idle, a thread switch per fork. It
// returns the filled part of buf.
func (p Proc) readStatFile(buf *[maxStatLen]byte) ([]byte, error) {
	path := p.dir + "/stat"
	if len(path) >= len(buf) {
		return nil, p.wrap("read stat", &os.PathError{Op: "open", Path: path, Err: unix.ENAMETOOLONG})
	}
	// The NUL-terminated path goes in buf, which the read then overwrites:
	// no allocation for it.
	copy(buf[:], path)
	buf[len(path)] = 0
	cwd := unix.AT_FDCWD
	r, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if errno != 0 {
		return nil, p.wrap("read stat", &os.PathError{Op: "open", Path: path, Err: errno})
	}
	fd := r
	defer unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	n := 0
	for n < len(buf) {
		m, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[n])), uintptr(len(buf)-n))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return nil, p.wrap("read stat", &os.PathError{Op: "read", Path: path, Err: errno})
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += int(m)
	}
	return nil, p.wrap("read stat", fmt.Errorf("longer than %d bytes", maxStatLen))
}
