package audit

import (
	"errors"
	"net"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFastOpenRealKernel: a TCP Fast Open send (sendto or sendmsg with
// MSG_FASTOPEN) is a connection attempt, audited by the sensor's rules and
// assembled into the same Connect event as connect(); a plain UDP sendto is
// not audited at all.
func TestFastOpenRealKernel(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	tcpAddr := acceptLoopback(t)
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()

	s, _ := openTestSession(t, nil)
	w := watchConnects(t, s)
	udpAddr := udp.LocalAddr().String()
	udpPID := connectChild(t, "udp", udpAddr)
	c := w.wait(t, "sendto MSG_FASTOPEN", connectChild(t, "sendto", tcpAddr), tcpAddr)
	if c.Subject.Comm == "" {
		t.Errorf("sendto event without the process: %+v", c)
	}
	w.wait(t, "sendmsg MSG_FASTOPEN", connectChild(t, "sendmsg", tcpAddr), tcpAddr)
	// Offline, as the detection needs it: a public address inside a new
	// network namespace fails at once and is still an attempt.
	if _, err := exec.LookPath("unshare"); err == nil {
		c = w.wait(t, "sendto MSG_FASTOPEN in unshare -n", connectChild(t, "sendto", "1.1.1.1:53", "unshare", "-n"), "1.1.1.1:53")
		if c.Success || !errors.Is(c.Errno, syscall.ENETUNREACH) {
			t.Errorf("offline TFO send: success %v errno %v, want ENETUNREACH", c.Success, c.Errno)
		}
	} else {
		t.Errorf("unshare: %v", err)
	}
	// The UDP send ran before the events above arrived: had it been
	// audited, its event would be there by now.
	for _, c := range w.all() {
		if c.Subject.PID == udpPID || c.Dest.String() == udpAddr {
			t.Errorf("a plain UDP sendto became a Connect event: %+v", c)
		}
	}
	w.close(t)
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
