package audit

import (
	"encoding/binary"
	"errors"
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

// TestStreamDropsForgedRecords sends a fake SYSCALL record to the data
// socket from another userspace netlink socket (any local process may
// unicast to a port id): it must be counted as foreign, never delivered.
func TestStreamDropsForgedRecords(t *testing.T) {
	s, forger := forgeryPair(t)
	if err := forger([]byte("audit(1.0:1): arch=c000003e syscall=59 success=yes")); err != nil {
		testenv.Require(t, "unicast between netlink audit sockets", err)
	}
	s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := s.receive(); !errors.Is(err, errSkip) {
		t.Fatalf("forged datagram: %v, want errSkip", err)
	}
	if st := s.stats(); st.Foreign != 1 || st.Messages != 0 {
		t.Errorf("stats %+v, want 1 foreign and no message", st)
	}
}

// forgeryPair opens a data socket and a function that sends it a SYSCALL
// datagram with payload from a second, userspace, audit socket.
func forgeryPair(tb testing.TB) (*stream, func(payload []byte) error) {
	tb.Helper()
	s, err := openStream(1 << 20)
	if err != nil {
		requireAuditSocket(tb, err)
	}
	tb.Cleanup(func() { s.close() })
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: s.conn.PID()}
	send := func(payload []byte) error {
		b := make([]byte, nlmsgHeaderLen+len(payload))
		binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
		binary.NativeEndian.PutUint16(b[4:], TypeSyscall)
		copy(b[nlmsgHeaderLen:], payload)
		return unix.Sendto(fd, b, 0, to)
	}
	return s, send
}

// BenchmarkStreamReceive measures the receive path (poller, recvfrom,
// header decode, sender check) per datagram; the datagrams come from a
// userspace socket, so each ends as a counted foreign drop.
func BenchmarkStreamReceive(b *testing.B) {
	s, forger := forgeryPair(b)
	payload := make([]byte, 400) // about one SYSCALL record
	const batch = 256
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.StopTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for range n {
			if err := forger(payload); err != nil {
				testenv.Require(b, "unicast between netlink audit sockets", err)
			}
		}
		b.StartTimer()
		for range n {
			if _, err := s.receive(); !errors.Is(err, errSkip) {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		done += n
	}
}

// TestStreamBatchDropsForgedRecords is TestStreamDropsForgedRecords for the
// batched read: every forged datagram of a batch is counted, none delivered.
func TestStreamBatchDropsForgedRecords(t *testing.T) {
	s, forger := forgeryPair(t)
	for range 3 {
		if err := forger([]byte("audit(1.0:1): arch=c000003e syscall=59 success=yes")); err != nil {
			t.Fatalf("unicast between netlink audit sockets: %v", err)
		}
	}
	s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
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
