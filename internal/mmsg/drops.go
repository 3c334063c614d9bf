package mmsg

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// skMeminfoDrops is the index of the drop count in SO_MEMINFO's array
// (include/uapi/linux/sock_diag.h SK_MEMINFO_DROPS).
const skMeminfoDrops = 8

// ErrNoDropCount is returned by Drops on kernels that do not report a
// socket's drops: SO_MEMINFO, with its drop count, is a Linux 4 addition
// (jessie's 3.16 lacks it). The caller reports the count as unknown.
var ErrNoDropCount = errors.New("the kernel does not report socket drops (no SO_MEMINFO with SK_MEMINFO_DROPS)")

// Drops returns how many datagrams the kernel could not queue on sock
// since it was opened, the socket's sk_drops: on a netlink socket, each
// time a sender found the receive queue full (net/netlink/af_netlink.c
// netlink_overrun). The kernel keeps it in 32 bits.
func Drops(sock int) (uint32, error) {
	var info [skMeminfoDrops + 1]uint32
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(sock), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	switch {
	case errno == unix.ENOPROTOOPT:
		return 0, ErrNoDropCount
	case errno != 0:
		return 0, fmt.Errorf("getsockopt SO_MEMINFO: %w", errno)
	case size < uint32(unsafe.Sizeof(info)):
		return 0, ErrNoDropCount
	}
	return info[skMeminfoDrops], nil
}
