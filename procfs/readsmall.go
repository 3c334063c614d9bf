package procfs

import (
	"fmt"
	"os"
	"sync"

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
// its runtime poller registration), which os.ReadFile would pay. It returns
// the filled part of buf.
func (p Proc) readStatFile(buf *[maxStatLen]byte) ([]byte, error) {
	path := p.dir + "/stat"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, p.wrap("read stat", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, p.wrap("read stat", &os.PathError{Op: "read", Path: path, Err: err})
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
	return nil, p.wrap("read stat", fmt.Errorf("longer than %d bytes", maxStatLen))
}
