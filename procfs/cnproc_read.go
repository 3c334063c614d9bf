package procfs

import (
	"encoding/binary"
	"fmt"
)

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
	// nlmsgHeaderLen is sizeof(struct nlmsghdr).
	nlmsgHeaderLen = 16
)

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
