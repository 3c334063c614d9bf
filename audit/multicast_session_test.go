package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestHandOverAndReclaim drives the switch between unicast and multicast
// on the real kernel: HandOver releases the audit PID and records keep
// coming (through the multicast group), each once; Repair takes the free
// PID back and leaves the group. No serial goes missing on the way.
func TestHandOverAndReclaim(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	s, _ := openTestSession(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := &collector{}
	go s.Run(ctx, col.add)

	exec1 := func(what string) {
		t.Helper()
		marker := fmt.Sprintf("aptsentinel-%s-%d", what, time.Now().UnixNano())
		if err := exec.Command("/bin/true", marker).Run(); err != nil {
			t.Fatal(err)
		}
		col.waitFor(t, "EXECVE "+what, func(r Record) bool {
			return r.Type == TypeExecve && bytes.Contains(r.Data, []byte(marker))
		})
		n := 0
		col.mu.Lock()
		for _, r := range col.records {
			if r.Type == TypeExecve && bytes.Contains(r.Data, []byte(marker)) {
				n++
			}
		}
		col.mu.Unlock()
		if n != 1 {
			t.Errorf("%s: the EXECVE record came %d times", what, n)
		}
	}
	exec1("unicast")
	if s.Mode() != ModeUnicast {
		t.Fatalf("mode %v, want unicast", s.Mode())
	}

	// Records flow while the PID is handed over, from another process.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				exec.Command("/bin/true").Run()
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	ok, err := s.HandOver()
	if !ok || err != nil {
		t.Fatalf("HandOver: %v, %v", ok, err)
	}
	if st, _ := GetStatus(); st.PID != 0 || s.Mode() != ModeMulticast {
		t.Fatalf("after HandOver: audit pid %d, mode %v; want 0, multicast", st.PID, s.Mode())
	}
	exec1("multicast")
	if again, _ := s.HandOver(); again {
		t.Error("a second HandOver handed over again")
	}

	// Nobody took the PID: Repair takes it back.
	r, err := s.Repair()
	if err != nil || !r.PIDReclaimed {
		t.Fatalf("Repair: %+v, %v; want the PID reclaimed", r, err)
	}
	if st, _ := GetStatus(); st.PID != uint32(os.Getpid()) || s.Mode() != ModeUnicast {
		t.Fatalf("after Repair: audit pid %d, mode %v", st.PID, s.Mode())
	}
	exec1("reclaimed")
	close(stop)
	<-done
	time.Sleep(200 * time.Millisecond)
	s.Repair()
	s.Repair()
	cs := s.CoexistStats()
	t.Logf("coexist stats: %+v", cs)
	if cs.Handovers != 1 || cs.Reclaims != 1 || cs.Multicast.Messages == 0 || cs.Unicast.Messages == 0 {
		t.Errorf("counters: %+v", cs)
	}
	if cs.SerialGaps != 0 {
		t.Errorf("%d serials went missing around the switches", cs.SerialGaps)
	}
}
