package audit

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// requireDropCount skips, as a kernel feature, where the kernel does not
// report a socket's drops.
func requireDropCount(t *testing.T, st StreamStats) {
	t.Helper()
	if st.DropsUnknown {
		testenv.SkipKernelFeature(t, "socket drop count (SO_MEMINFO with SK_MEMINFO_DROPS)",
			"getsockopt SO_MEMINFO on the audit socket", mmsg.ErrNoDropCount)
	}
}

// TestDataSocketDropsCounted: the sensor's data socket (the audit PID),
// 4 KiB, reads nothing while 100 execs are audited. kauditd finds the
// queue full, and the socket's drops say so (once per kauditd pass that
// found it full: the pass keeps the rest for a retry). Read again, the
// session gets records again.
func TestDataSocketDropsCounted(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	s, _ := openTestSessionConfig(t, Config{ReceiveBuffer: 4096})
	if s.Mode() != ModeUnicast {
		t.Fatalf("mode %v, want unicast", s.Mode())
	}
	before := s.CoexistStats().Unicast
	requireDropCount(t, before)
	if before.Drops != 0 {
		t.Fatalf("a new data socket has %d drops", before.Drops)
	}
	for range 100 {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	full := s.CoexistStats().Unicast
	t.Logf("100 execs into an unread 4 KiB data socket: %d drops", full.Drops)
	if full.Drops == 0 {
		t.Errorf("no drops counted: %+v", full)
	}
	if st := s.Stats(); st.Drops != full.Drops || st.DropsUnknown {
		t.Errorf("Session.Stats drops %d (unknown %v), want the data socket's %d", st.Drops, st.DropsUnknown, full.Drops)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := &collector{}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, col.add) }()
	execMarkedRetry(t, col, "drained")
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}
