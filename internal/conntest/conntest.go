// Package conntest opens TCP connections the ways that do not call
// connect(2): TCP Fast Open sends and io_uring's IORING_OP_CONNECT, for the
// tests that check the sensor sees them (audit's real-kernel tests and the
// end-to-end test's hook program, cmd/aptsentinel/testdata/altconnect).
package conntest

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Modes are the ways Connect knows.
var Modes = []string{"sendto", "sendmsg", "udp", "uring", "uring-sqpoll", "uring-async"}

// Connect opens one connection to addr by mode: "sendto" and "sendmsg"
// with MSG_FASTOPEN on a TCP socket, "udp" a plain sendto on a UDP socket
// (not a connection), "uring" one IORING_OP_CONNECT run inline,
// "uring-sqpoll" run by the SQPOLL thread, "uring-async" by an io-wq
// worker (IOSQE_ASYNC). The error is the send's or the completion's.
func Connect(mode string, addr netip.AddrPort) error {
	switch mode {
	case "sendto", "sendmsg", "udp":
		return fastOpen(mode, addr)
	case "uring", "uring-sqpoll", "uring-async":
		var setup uint32
		var sqe uint8
		switch mode {
		case "uring-sqpoll":
			setup = setupSQPoll
		case "uring-async":
			sqe = sqeAsync
		}
		res, err := uringConnect(addr, setup, sqe)
		if err == nil && res < 0 {
			err = unix.Errno(-res)
		}
		return err
	}
	return fmt.Errorf("conntest: unknown mode %q (want one of %q)", mode, Modes)
}

// fastOpen sends on a new socket; see Connect.
func fastOpen(mode string, ap netip.AddrPort) error {
	to := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	typ := unix.SOCK_STREAM
	if mode == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	switch mode {
	case "sendto":
		return unix.Sendto(fd, []byte("tfo"), unix.MSG_FASTOPEN, to)
	case "sendmsg":
		_, err = unix.SendmsgN(fd, []byte("tfo"), nil, to, unix.MSG_FASTOPEN)
		return err
	default:
		return unix.Sendto(fd, []byte("udp"), 0, to)
	}
}

// io_uring ABI (include/uapi/linux/io_uring.h).
const (
	opConnect   = 16     // IORING_OP_CONNECT
	setupSQPoll = 1 << 1 // IORING_SETUP_SQPOLL
	sqeAsync    = 1 << 4 // IOSQE_ASYNC
)

// uringConnect connects a new TCP socket to addr with one IORING_OP_CONNECT
// on a new io_uring (no liburing: io_uring_setup, three mmaps,
// io_uring_enter), with io_uring_setup flags and SQE flags, and returns
// the completion's result (0 or -errno).
func uringConnect(addr netip.AddrPort, setupFlags uint32, sqeFlags uint8) (int32, error) {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(sock)
	// struct io_uring_params: 10 u32, then io_sqring_offsets and
	// io_cqring_offsets (include/uapi/linux/io_uring.h).
	var p struct {
		sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
		resv                                                                   [3]uint32
		sqOff                                                                  struct {
			head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
			userAddr                                                        uint64
		}
		cqOff struct {
			head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
			userAddr                                                        uint64
		}
	}
	p.flags = setupFlags
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("io_uring_setup: %w", errno)
	}
	defer unix.Close(int(fd))
	sqRing, err := unix.Mmap(int(fd), 0, int(p.sqOff.array+p.sqEntries*4), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(sqRing)
	cqRing, err := unix.Mmap(int(fd), 0x8000000, int(p.cqOff.cqes+p.cqEntries*16), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(cqRing)
	sqes, err := unix.Mmap(int(fd), 0x10000000, int(p.sqEntries*64), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(sqes)

	sa := &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.Addr().As4()}
	sa.Port = addr.Port()<<8 | addr.Port()>>8 // network byte order
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	// SQE 0: opcode @0, fd @4, addr2 (the address length) @8, addr @16.
	sqe := sqes[:64]
	clear(sqe)
	sqe[0] = opConnect
	sqe[1] = sqeFlags
	*(*int32)(unsafe.Pointer(&sqe[4])) = int32(sock)
	*(*uint64)(unsafe.Pointer(&sqe[8])) = uint64(unsafe.Sizeof(*sa))
	*(*uint64)(unsafe.Pointer(&sqe[16])) = uint64(uintptr(unsafe.Pointer(sa)))
	tail := atomic.LoadUint32(u32(sqRing, p.sqOff.tail))
	*u32(sqRing, p.sqOff.array+(tail&*u32(sqRing, p.sqOff.ringMask))*4) = 0
	atomic.StoreUint32(u32(sqRing, p.sqOff.tail), tail+1)

	const enterGetEvents, enterSQWakeup = 1, 2 // IORING_ENTER_GETEVENTS, IORING_ENTER_SQ_WAKEUP
	toSubmit, enterFlags := uintptr(1), uintptr(enterGetEvents)
	if setupFlags&setupSQPoll != 0 {
		toSubmit, enterFlags = 0, enterGetEvents|enterSQWakeup // the SQ thread submits
	}
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, fd, toSubmit, 1, enterFlags, 0, 0); errno != 0 {
		return 0, fmt.Errorf("io_uring_enter: %w", errno)
	}
	runtime.KeepAlive(sa)
	head := atomic.LoadUint32(u32(cqRing, p.cqOff.head))
	if head == atomic.LoadUint32(u32(cqRing, p.cqOff.tail)) {
		return 0, fmt.Errorf("io_uring: no completion")
	}
	cqe := p.cqOff.cqes + (head&*u32(cqRing, p.cqOff.ringMask))*16
	res := *(*int32)(unsafe.Pointer(&cqRing[cqe+8]))
	atomic.StoreUint32(u32(cqRing, p.cqOff.head), head+1)
	return res, nil
}
