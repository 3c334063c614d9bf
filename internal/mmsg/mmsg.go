// Package mmsg reads datagrams from a netlink socket in batches: one
// recvmmsg(2) takes every datagram queued, up to a fixed number of slots,
// into buffers kept for the reader's life, so a read allocates nothing.
// The audit data socket and the proc connector socket both read this way.
package mmsg

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr (include/linux/socket.h), which x/sys/unix
// does not define; Go pads it to the C layout on every architecture.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Reader reads through the runtime's poller: when nothing is queued the
// goroutine parks until the socket is readable, as any Go socket read does.
type Reader struct {
	raw   syscall.RawConn
	fn    func(fd uintptr) bool // r.recv, bound once so reads do not allocate
	msgs  []mmsghdr
	iovs  []unix.Iovec
	froms []unix.RawSockaddrNetlink
	slab  []byte
	slot  int

	n     int
	errno unix.Errno
}

// NewReader returns a reader of up to slots datagrams of up to slotSize
// bytes each per read; a longer datagram is cut by the kernel (Datagram
// reports it).
func NewReader(raw syscall.RawConn, slots, slotSize int) *Reader {
	r := &Reader{
		raw:   raw,
		msgs:  make([]mmsghdr, slots),
		iovs:  make([]unix.Iovec, slots),
		froms: make([]unix.RawSockaddrNetlink, slots),
		slab:  make([]byte, slots*slotSize),
		slot:  slotSize,
	}
	for i := range r.msgs {
		r.iovs[i].Base = &r.slab[i*slotSize]
		r.iovs[i].SetLen(slotSize)
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
// switch per read at low rates.
func (r *Reader) recv(fd uintptr) bool {
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

// Read waits for at least one datagram and reads what is queued. It
// returns how many it read, or the socket's error number (ENOBUFS after an
// overrun), or err when the wait itself failed (the socket was closed).
func (r *Reader) Read() (n int, errno unix.Errno, err error) {
	if err := r.raw.Read(r.fn); err != nil {
		return 0, 0, err
	}
	if r.errno != 0 {
		return 0, r.errno, nil
	}
	return r.n, 0, nil
}

// Datagram returns datagram i of the last read (valid until the next
// read), whether the kernel cut it (longer than a slot: MSG_TRUNC) and the
// sender's netlink port id (0 for the kernel).
func (r *Reader) Datagram(i int) (b []byte, truncated bool, sender uint32) {
	m := &r.msgs[i]
	off := i * r.slot
	return r.slab[off : off+min(int(m.len), r.slot)], m.hdr.Flags&unix.MSG_TRUNC != 0, r.froms[i].Pid
}
