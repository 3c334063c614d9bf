package audit

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestRecordData(t *testing.T) {
	tests := map[string]string{
		"audit(1.0:1): a=b\x00": "audit(1.0:1): a=b",
		"audit(1.0:1): a=b":     "audit(1.0:1): a=b",
		"\x00\x00":              "",
		"":                      "",
	}
	for in, want := range tests {
		if got := string(recordData([]byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestIsRecord(t *testing.T) {
	for typ, want := range map[uint16]bool{
		nlmsgError: false, nlmsgDone: false, nlmsgNoop: false, TypeReplace: false,
		TypeSyscall: true, TypeExecve: true, TypeSockaddr: true, TypeEOE: true,
	} {
		if isRecord(typ) != want {
			t.Errorf("isRecord(%d) = %v", typ, !want)
		}
	}
}

// forgeryPair opens a data socket and a function that sends it a SYSCALL
// datagram with payload from a second, userspace, audit socket.
func forgeryPair(tb testing.TB) (*stream, func(payload []byte) error) {
	tb.Helper()
	s, err := openStream(1<<20, 0)
	if err != nil {
		requireAuditSocket(tb, err)
	}
	tb.Cleanup(func() { s.close() })
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	sa, err := unix.Getsockname(s.batch.FD())
	if err != nil {
		tb.Fatal(err)
	}
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: sa.(*unix.SockaddrNetlink).Pid}
	send := func(payload []byte) error {
		b := make([]byte, nlmsgHeaderLen+len(payload))
		binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
		binary.NativeEndian.PutUint16(b[4:], TypeSyscall)
		copy(b[nlmsgHeaderLen:], payload)
		return unix.Sendto(fd, b, 0, to)
	}
	return s, send
}

// TestStreamBatchDropsForgedRecords sends fake SYSCALL records to the data
// socket from another userspace netlink socket (any local process may
// unicast to a port id): every forged datagram of a batch is counted as
// foreign, none delivered.
func TestStreamBatchDropsForgedRecords(t *testing.T) {
	s, forger := forgeryPair(t)
	for range 3 {
		if err := forger([]byte("audit(1.0:1): arch=c000003e syscall=59 success=yes")); err != nil {
			testenv.Require(t, "unicast between netlink audit sockets", err)
		}
	}
	defer time.AfterFunc(2*time.Second, s.wake).Stop()
	for s.stats().Foreign < 3 {
		recs, err := s.receiveBatch()
		if err != nil {
			t.Fatalf("after %d foreign: %v", s.stats().Foreign, err)
		}
		if len(recs) != 0 {
			t.Fatalf("%d forged datagrams delivered", len(recs))
		}
	}
	if st := s.stats(); st.Foreign != 3 || st.Messages != 0 {
		t.Errorf("stats %+v, want 3 foreign and no message", st)
	}
}

// BenchmarkStreamReceiveBatch is BenchmarkStreamReceive with the batched
// read (recvmmsg of up to 64 datagrams): the cost per datagram when they
// are queued.
func BenchmarkStreamReceiveBatch(b *testing.B) {
	s, forger := forgeryPair(b)
	payload := make([]byte, 400)
	const batch = 256
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.StopTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for range n {
			if err := forger(payload); err != nil {
				b.Fatalf("send: %v", err)
			}
		}
		want := s.stats().Foreign + uint64(n)
		b.StartTimer()
		for s.stats().Foreign < want {
			if _, err := s.receiveBatch(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		done += n
	}
}
