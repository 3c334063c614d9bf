package audit

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// connectChild makes one connection by conntest.Connect's mode in a child
// (the session's never rule hides the test process itself), under prefix
// (unshare -n) if given, and returns its pid.
func connectChild(t *testing.T, mode, addr string, prefix ...string) int {
	t.Helper()
	argv := append(prefix, os.Args[0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=connect", "APTSENTINEL_CONNECT="+mode+" "+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s child: %v\n%s", mode, err, out)
	}
	t.Logf("%s %s: %s", mode, addr, out)
	return cmd.Process.Pid
}

// TestFastOpenRealKernel: a TCP Fast Open send (sendto or sendmsg with
// MSG_FASTOPEN) is a connection attempt, audited by the sensor's rules and
// assembled into the same Connect event as connect(); a plain UDP sendto is
// not audited at all.
func TestFastOpenRealKernel(t *testing.T) {
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
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()

	s, _ := openTestSession(t, nil)
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
	waitConnect := func(what string, pid int, dest string) *Connect {
		t.Helper()
		want := netip.MustParseAddrPort(dest)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			for _, c := range connects {
				if c.Process.PID == pid && c.Dest == want {
					mu.Unlock()
					return c
				}
			}
			mu.Unlock()
		}
		t.Fatalf("%s: no Connect event from pid %d to %s", what, pid, dest)
		return nil
	}

	tcpAddr := ln.Addr().String()
	udpAddr := udp.LocalAddr().String()
	udpPID := connectChild(t, "udp", udpAddr)
	c := waitConnect("sendto MSG_FASTOPEN", connectChild(t, "sendto", tcpAddr), tcpAddr)
	if c.Process.Comm == "" {
		t.Errorf("sendto event without the process: %+v", c)
	}
	waitConnect("sendmsg MSG_FASTOPEN", connectChild(t, "sendmsg", tcpAddr), tcpAddr)
	// Offline, as the detection needs it: a public address inside a new
	// network namespace fails at once and is still an attempt.
	if _, err := exec.LookPath("unshare"); err == nil {
		c = waitConnect("sendto MSG_FASTOPEN in unshare -n", connectChild(t, "sendto", "1.1.1.1:53", "unshare", "-n"), "1.1.1.1:53")
		if c.Success || !errors.Is(c.Errno, syscall.ENETUNREACH) {
			t.Errorf("offline TFO send: success %v errno %v, want ENETUNREACH", c.Success, c.Errno)
		}
	} else {
		t.Errorf("unshare: %v", err)
	}
	// The UDP send ran before the events above arrived: had it been
	// audited, its event would be there by now.
	mu.Lock()
	for _, c := range connects {
		if c.Process.PID == udpPID || c.Dest.String() == udpAddr {
			t.Errorf("a plain UDP sendto became a Connect event: %+v", c)
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

func TestClassifyFastOpen(t *testing.T) {
	tfo := uint64(MsgFastOpen | unix.MSG_NOSIGNAL)
	tests := []struct {
		arch uint32
		nr   uint64
		a    args
		want syscallKind
	}{
		{ArchX8664, 44, args{a3: tfo}, kindConnect},                 // sendto
		{ArchX8664, 44, args{a3: unix.MSG_NOSIGNAL}, kindOther},     // sendto, no TFO
		{ArchX8664, 44, args{a2: MsgFastOpen}, kindOther},           // flag in the wrong argument
		{ArchX8664, 46, args{a2: tfo}, kindConnect},                 // sendmsg
		{ArchX8664, 46, args{a3: tfo}, kindOther},                   // sendmsg's flags are a2
		{ArchX8664, 307, args{a3: tfo}, kindConnect},                // sendmmsg
		{ArchI386, 369, args{a3: tfo}, kindConnect},                 // sendto
		{ArchI386, 370, args{a2: tfo}, kindConnect},                 // sendmsg
		{ArchI386, 345, args{a3: tfo}, kindConnect},                 // sendmmsg
		{ArchI386, 102, args{a0: 11, a3: tfo}, kindOther},           // socketcall(SYS_SENDTO): flags in memory
		{ArchAArch64, 206, args{a3: tfo}, kindConnect},              // sendto
		{ArchAArch64, 211, args{a2: tfo}, kindConnect},              // sendmsg
		{ArchX8664, 42, args{}, kindConnect},                        // connect
		{ArchI386, 102, args{a0: sysConnect}, kindConnect},          // socketcall(SYS_CONNECT)
		{ArchX8664, 1, args{a2: MsgFastOpen, a3: tfo}, kindOther},   // write
		{ArchX8664, 59, args{a3: MsgFastOpen}, kindExec},            // execve
		{ArchAArch64, 44, args{a3: MsgFastOpen}, kindOther},         // arm64 44 is fstatfs
		{ArchI386, 44, args{a3: MsgFastOpen}, kindOther},            // i386 44 is the unused prof
		{ArchX8664, 45, args{a3: MsgFastOpen}, kindOther},           // recvfrom
		{ArchX8664, 46, args{a2: MsgFastOpen, a0: 3}, kindConnect},  // a0 does not matter
		{ArchX8664, 44, args{a3: 1 << 31}, kindOther},               // another high bit
		{ArchX8664, 44, args{a3: MsgFastOpen | 1<<40}, kindConnect}, // high garbage kept
	}
	for _, tt := range tests {
		if got := classify(tt.arch, tt.nr, tt.a); got != tt.want {
			t.Errorf("classify(%#x, %d, %+v) = %d, want %d", tt.arch, tt.nr, tt.a, got, tt.want)
		}
	}
}
