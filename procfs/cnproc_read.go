package procfs

// The listener's read path. Every fork, exec and exit on the host is one
// datagram, so on a busy host this socket is read more often than the
// audit one. mdlayher/netlink's Receive costs two recvmsg(2) per datagram
// (a MSG_PEEK to size its buffer, then the read) and allocates both the
// buffer and the messages; internal/mmsg's reader takes every datagram
// queued, up to readSlots, with one recvmmsg(2) into buffers reused for
// the listener's life.
const (
	// readSlots is the most datagrams one read takes.
	readSlots = 64
	// readSlotSize holds one connector datagram with room to spare: a
	// netlink header, a cn_msg and a proc_event are under 100 bytes. A
	// longer datagram is cut by the kernel (MSG_TRUNC) and counted as
	// malformed.
	readSlotSize = 512
)
