package procfs

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The listener's read path. Every fork, exec and exit on the host is one
// datagram, so on a busy host this socket is read more often than the
// audit one. mdlayher/netlink's Receive costs two recvmsg(2) per datagram
// (a MSG_PEEK to size its buffer, then the read) and allocates both the
// buffer and the messages; here one recvmmsg(2) takes every datagram
// queued, up to readSlots, into buffers reused for the listener's life.
const (
	// readSlots is the most datagrams one read takes.
	readSlots = 64
	// readSlotSize holds one connector datagram with room to spare: a
	// netlink header, a cn_msg and a proc_event are under 100 bytes. A
	// longer datagram is cut by the kernel (MSG_TRUNC) and counted as
	// malformed.
	readSlotSize = 512
	// nlmsgHeaderLen is sizeof(struct nlmsghdr).
	nlmsgHeaderLen = 16
)

// mmsghdr is struct mmsghdr (include/linux/socket.h), which x/sys/unix
// does not define; Go pads it to the C layout on every architecture.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// batchReader reads datagrams with recvmmsg(2) through the runtime's
// poller: when nothing is queued the goroutine parks until the socket is
// readable, as any Go socket read does.
type batchReader struct {
	raw   syscall.RawConn
	fn    func(fd uintptr) bool // r.recv, bound once so reads do not allocate
	msgs  []mmsghdr
	iovs  []unix.Iovec
	froms []unix.RawSockaddrNetlink
	slab  []byte

	n     int
	errno unix.Errno
}

func newBatchReader(raw syscall.RawConn) *batchReader {
	r := &batchReader{
		raw:   raw,
		msgs:  make([]mmsghdr, readSlots),
		iovs:  make([]unix.Iovec, readSlots),
		froms: make([]unix.RawSockaddrNetlink, readSlots),
		slab:  make([]byte, readSlots*readSlotSize),
	}
	for i := range r.msgs {
		r.iovs[i].Base = &r.slab[i*readSlotSize]
		r.iovs[i].SetLen(readSlotSize)
		r.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.froms[i]))
		r.msgs[i].hdr.Iov = &r.iovs[i]
		r.msgs[i].hdr.SetIovlen(1)
	}
	r.fn = r.recv
	return r
}

// recv is the RawConn.Read callback: one recvmmsg(2) that never waits
// (MSG_DONTWAIT; when nothing is queued the poller waits instead). It is a
// raw system call, without the runtime's syscall bookkeeping: it cannot
// block, and entering a system call the runtime's way wakes the runtime's
// monitor thread (sysmon) when the process was idle, one more thread
// switch per read.
func (r *batchReader) recv(fd uintptr) bool {
	for i := range r.msgs {
		r.msgs[i].hdr.Namelen = unix.SizeofSockaddrNetlink
		r.msgs[i].hdr.Flags = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd,
		uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	r.n, r.errno = int(n), errno
	return true
}

// read waits for at least one datagram and reads what is queued. It
// returns the number of datagrams read, or the socket's error (ENOBUFS
// after an overrun, unwrapped so errors.Is works).
func (r *batchReader) read() (int, error) {
	if err := r.raw.Read(r.fn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, r.errno
	}
	return r.n, nil
}

// datagram returns the bytes of datagram i of the last read; ok is false
// when it was cut (longer than a slot) or not sent by the kernel (only
// root may send to a connector socket, but the kernel is port id 0).
func (r *batchReader) datagram(i int) (b []byte, ok bool) {
	m := &r.msgs[i]
	if m.hdr.Flags&unix.MSG_TRUNC != 0 || r.froms[i].Pid != 0 {
		return nil, false
	}
	return r.slab[i*readSlotSize : i*readSlotSize+int(m.len)], true
}

// nextMessage splits the first netlink message off a datagram: its
// payload and the rest. The kernel sends one connector message per
// datagram (cn_netlink_send_mult), but netlink allows several, each padded
// to 4 bytes.
func nextMessage(b []byte) (payload, rest []byte, err error) {
	if len(b) < nlmsgHeaderLen {
		return nil, nil, fmt.Errorf("netlink message: %d bytes, want a %d-byte header", len(b), nlmsgHeaderLen)
	}
	n := int(binary.NativeEndian.Uint32(b[0:4]))
	if n < nlmsgHeaderLen || n > len(b) {
		return nil, nil, fmt.Errorf("netlink message: length %d outside %d..%d", n, nlmsgHeaderLen, len(b))
	}
	return b[nlmsgHeaderLen:n], b[min(nlmsgAlign(n), len(b)):], nil
}

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }
