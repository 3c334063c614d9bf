package audit

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// statRaw is stat(2) as a raw system call. DaemonWatch.Is runs for every
// exec on the host; a stat of /proc/PID/exe does not block on I/O, and
// entering a system call the runtime's way (os.Stat) wakes the runtime's
// monitor thread (sysmon) when the process was idle: a thread switch per
// exec.
func statRaw(path string) (unix.Stat_t, bool) {
	var st unix.Stat_t
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return st, false
	}
	cwd := unix.AT_FDCWD
	_, _, errno := unix.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(cwd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&st)), 0, 0, 0)
	return st, errno == 0
}
