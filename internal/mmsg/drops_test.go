package mmsg

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// TestDropsCountsAFullQueue fills a real netlink socket: a member of a
// NETLINK_USERSOCK multicast group with a small receive buffer reads
// nothing while 200 messages are sent to the group. Each one the kernel
// could not queue is a drop.
func TestDropsCountsAFullQueue(t *testing.T) {
	testenv.RequireRoot(t) // sending to a netlink multicast group
	const group = 5
	recv := userSock(t)
	if err := unix.Bind(recv, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (group - 1)}); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(recv, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096); err != nil {
		t.Fatal(err)
	}
	n, err := Drops(recv)
	if err != nil {
		t.Fatalf("Drops: %v", err)
	}
	if n != 0 {
		t.Fatalf("a new socket has %d drops", n)
	}
	send := userSock(t)
	msg := make([]byte, 512)
	for range 200 {
		// The kernel broadcasts to the group, then unicasts to port 0
		// (itself), which has no NETLINK_USERSOCK handler: refused.
		err := unix.Sendto(send, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (group - 1)})
		if err != nil && err != unix.ECONNREFUSED {
			t.Fatal(err)
		}
	}
	queued := 0
	for {
		_, _, err := unix.Recvfrom(recv, msg, unix.MSG_DONTWAIT)
		if err == unix.ENOBUFS { // the overrun, reported once
			continue
		}
		if err != nil {
			break
		}
		queued++
	}
	n, err = Drops(recv)
	if err != nil {
		t.Fatalf("Drops: %v", err)
	}
	t.Logf("200 sent: %d queued, %d dropped", queued, n)
	if n == 0 || queued+int(n) != 200 {
		t.Errorf("200 sent, %d queued and %d dropped", queued, n)
	}
	if _, err := Drops(-1); err == nil {
		t.Error("Drops of a closed descriptor: no error")
	}
}

func userSock(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_USERSOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}
