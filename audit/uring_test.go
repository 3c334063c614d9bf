package audit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uringConnect connects a new TCP socket to addr with one IORING_OP_CONNECT
// on a new io_uring (no liburing: io_uring_setup, three mmaps,
// io_uring_enter) and returns the completion's result (0 or -errno).
func uringConnect(addr netip.AddrPort) (int32, error) {
	return uringConnectMode(addr, 0, 0)
}

// uringConnectMode is uringConnect with io_uring_setup flags and SQE flags
// (IORING_SETUP_SQPOLL, IOSQE_ASYNC: the operation runs in a kernel
// thread of the process instead of inside io_uring_enter).
func uringConnectMode(addr netip.AddrPort, setupFlags uint32, sqeFlags uint8) (int32, error) {
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
	sqe[0] = uringOpConnect
	sqe[1] = sqeFlags
	*(*int32)(unsafe.Pointer(&sqe[4])) = int32(sock)
	*(*uint64)(unsafe.Pointer(&sqe[8])) = uint64(unsafe.Sizeof(*sa))
	*(*uint64)(unsafe.Pointer(&sqe[16])) = uint64(uintptr(unsafe.Pointer(sa)))
	tail := atomic.LoadUint32(u32(sqRing, p.sqOff.tail))
	*u32(sqRing, p.sqOff.array+(tail&*u32(sqRing, p.sqOff.ringMask))*4) = 0
	atomic.StoreUint32(u32(sqRing, p.sqOff.tail), tail+1)

	const enterGetEvents, enterSQWakeup = 1, 2 // IORING_ENTER_GETEVENTS, IORING_ENTER_SQ_WAKEUP
	toSubmit, enterFlags := uintptr(1), uintptr(enterGetEvents)
	if setupFlags&uringSetupSQPoll != 0 {
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

// io_uring_setup and SQE flags (include/uapi/linux/io_uring.h).
const (
	uringSetupSQPoll = 1 << 1 // IORING_SETUP_SQPOLL
	uringSQEAsync    = 1 << 4 // IOSQE_ASYNC
)

// uringHelper is the child of the io_uring tests: one IORING_OP_CONNECT,
// inline, or with mode "sqpoll" or "async" in a kernel thread.
func uringHelper(addr, mode string) {
	var setup uint32
	var sqe uint8
	switch mode {
	case "sqpoll":
		setup = uringSetupSQPoll
	case "async":
		sqe = uringSQEAsync
	}
	res, err := uringConnectMode(netip.MustParseAddrPort(addr), setup, sqe)
	fmt.Printf("io_uring connect: res %d (%v) err %v\n", res, unix.Errno(-res), err)
	if err != nil {
		os.Exit(1)
	}
}

// TestAssembleURingConnect: the records a 6.18 kernel wrote for an inline
// IORING_OP_CONNECT (captured with TestURingConnectRealKernel's helper)
// make one Connect of the submitting process, outcome unknown.
func TestAssembleURingConnect(t *testing.T) {
	for file, dest := range map[string]string{
		"uring-connect-loopback.txt":    "127.0.0.1:45701",
		"uring-connect-enetunreach.txt": "1.1.1.1:53",
	} {
		events, errs, a := assembleAll(t, loadRecords(t, file))
		if len(errs) != 0 || len(events) != 1 {
			t.Fatalf("%s: %d events, errors %v", file, len(events), errs)
		}
		c, ok := events[0].(*Connect)
		if !ok || c.Dest != netip.MustParseAddrPort(dest) || !c.ResultUnknown || c.Success || c.Errno != 0 ||
			c.Process.Comm != "audit.test" || c.Process.PPID != 9907 {
			t.Errorf("%s: got %s, want a Connect to %s with an unknown result", file, describe(events[0]), dest)
		}
		if st := a.Stats(); st.Connects != 1 {
			t.Errorf("%s: stats %+v", file, st)
		}
	}
	// The SQPOLL thread's event: URINGOP and SOCKADDR, no SYSCALL. The
	// process is URINGOP's pid (the tgid) and ppid, without comm.
	events, errs, a := assembleAll(t, loadRecords(t, "uring-connect-sqpoll.txt"))
	if len(errs) != 0 || len(events) != 1 {
		t.Fatalf("sqpoll: %d events, errors %v", len(events), errs)
	}
	if c, ok := events[0].(*Connect); !ok || c.Dest != netip.MustParseAddrPort("127.0.0.1:42101") || !c.ResultUnknown ||
		c.Process.PID != 28629 || c.Process.PPID != 3224 || c.Process.Comm != "" || c.Process.AUID != unsetID {
		t.Errorf("sqpoll: got %s", describe(events[0]))
	}
	if st := a.Stats(); st.Connects != 1 || st.NoSyscall != 0 {
		t.Errorf("sqpoll: stats %+v", st)
	}
	// An io-wq worker's events: URINGOP alone, no address, no Connect.
	if events, _, _ := assembleAll(t, loadRecords(t, "uring-connect-async.txt")); len(events) != 0 {
		t.Errorf("io-wq: %s", describeAll(events))
	}
	// io_uring_enter without a URINGOP record of IORING_OP_CONNECT (a read,
	// a timeout) is no Connect, with or without a SOCKADDR.
	recs := loadRecords(t, "uring-connect-enetunreach.txt")
	events, _, _ = assembleAll(t, recs[1:])
	if len(events) != 0 {
		t.Errorf("io_uring_enter without URINGOP: %s", describeAll(events))
	}
	other := Record{Type: TypeURingOp, Data: bytes.Replace(recs[0].Data, []byte("uring_op=16 "), []byte("uring_op=22 "), 1)}
	events, _, _ = assembleAll(t, append([]Record{other}, recs[1:]...))
	if len(events) != 0 {
		t.Errorf("io_uring_enter with URINGOP 22 (read): %s", describeAll(events))
	}
}

func TestBuildURingRule(t *testing.T) {
	w, err := BuildRule(RuleSpec{Text: "-a always,io_uring -U connect -k aptsentinel"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseKernelRule(w)
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != filterURingExit || r.Action != auditAlways || !r.HasSyscall(uringOpConnect) || r.Key() != "aptsentinel" || len(r.Fields) != 1 {
		t.Errorf("rule %+v", r)
	}
	for i := range r.Mask {
		if want := uint32(0); i == 0 {
			want = 1 << uringOpConnect
			if r.Mask[i] != want {
				t.Errorf("mask[0] %#x, want %#x", r.Mask[i], want)
			}
		} else if r.Mask[i] != 0 {
			t.Errorf("mask[%d] %#x, want 0", i, r.Mask[i])
		}
	}
	for _, bad := range []string{
		"-a always,io_uring -U connect",
		"-a always,io_uring -U accept -k k",
		"-a always,io_uring -U connect -k bad\"key",
		"-a always,io_uring -U connect -F pid=1 -k k",
	} {
		if _, err := BuildRule(RuleSpec{Text: bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestURingConnectRealKernel: IORING_OP_CONNECT from a real io_uring
// (loopback, and a public address offline inside unshare -n) is a Connect
// event of the submitting process, through the sensor's io_uring rule.
func TestURingConnectRealKernel(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	s, logs := openTestSession(t, nil)
	if strings.Contains(logs.String(), "io_uring") {
		// The one way the rule is missing: a kernel older than 5.16.
		t.Fatalf("the kernel refused the io_uring rule:\n%s", logs)
	}
	var mu sync.Mutex
	var connects []*Connect
	a := NewAssembler(AssemblerConfig{})
	done := make(chan error, 1)
	go func() {
		done <- s.Run(t.Context(), func(r Record) {
			a.Push(r, func(e Event) { //nolint:errcheck // malformed records are not this test's subject
				if c, ok := e.(*Connect); ok {
					mu.Lock()
					connects = append(connects, c)
					mu.Unlock()
				}
			})
		})
	}()
	asyncPID := 0
	for _, tc := range []struct {
		addr, mode string
		prefix     []string
	}{
		{ln.Addr().String(), "async", nil}, // an io-wq worker: no address in audit, no event
		{ln.Addr().String(), "", nil},
		{"1.1.1.1:53", "", []string{"unshare", "-n"}},
		{ln.Addr().String(), "sqpoll", nil},
	} {
		argv := append(tc.prefix, os.Args[0])
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), helperEnv+"=uring", "APTSENTINEL_URING="+tc.addr, "APTSENTINEL_URING_MODE="+tc.mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("io_uring child: %v\n%s", err, out)
		}
		t.Logf("%s %s: %s", tc.mode, tc.addr, bytes.TrimSpace(out))
		if tc.mode == "async" {
			asyncPID = cmd.Process.Pid
			continue
		}
		want := netip.MustParseAddrPort(tc.addr)
		var got *Connect
		for deadline := time.Now().Add(5 * time.Second); got == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			for _, c := range connects {
				if c.Process.PID == cmd.Process.Pid && c.Dest == want {
					got = c
				}
			}
			mu.Unlock()
		}
		if got == nil {
			t.Fatalf("no Connect event from pid %d to %s", cmd.Process.Pid, want)
		}
		if !got.ResultUnknown || (got.Process.Comm == "") != (tc.mode == "sqpoll") {
			t.Errorf("io_uring connect event (%s) %+v", tc.mode, got)
		}
	}
	mu.Lock()
	for _, c := range connects {
		if c.Process.PID == asyncPID {
			t.Errorf("an io-wq connect became an event, with an address audit does not have: %+v", c)
		}
	}
	mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Run: %v", err)
	}
}
