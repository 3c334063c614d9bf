package sensor

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName gives the symbolic name of errno, e.g. "ENETUNREACH", the form
// ECS error.code takes for syscall errors.
func errnoName(errno syscall.Errno) string {
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return "errno " + strconv.Itoa(int(errno))
}
