package sensor

import (
	"runtime"

	"github.com/aptsentinel/aptsentinel/audit"
	"testing"
	"time"
)

func TestAdaptiveProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var p adaptiveProcs
	p.start(true)
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("after start GOMAXPROCS = %d, want 1 while calm", n)
	}
	t0 := time.Now()
	p.backlog(t0)
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Fatalf("after a backlog GOMAXPROCS = %d, want 2", n)
	}
	p.tick(t0.Add(procsCalm / 2))
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Errorf("GOMAXPROCS = %d %v after the backlog, want still 2", n, procsCalm/2)
	}
	p.tick(t0.Add(procsCalm))
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS = %d %v after the backlog, want 1 again", n, procsCalm)
	}
	p.stop()
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Errorf("after stop GOMAXPROCS = %d, want the 2 found at start", n)
	}

	var off adaptiveProcs
	off.start(false)
	off.backlog(t0)
	off.tick(t0.Add(procsCalm))
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Errorf("not adapting, GOMAXPROCS = %d, want 2 untouched", n)
	}
}

// TestControlDeferredDuringBacklog: while records pile up the tick does
// not talk to the audit control interface (the kernel would make the loop
// sleep), but never for longer than controlDefer.
func TestControlDeferredDuringBacklog(t *testing.T) {
	s := &sensor{handoff: newHandoff[recordBatch](busyBatches + 1)}
	t0 := time.Now()
	if !s.controlDue(t0) {
		t.Fatal("calm: control not due")
	}
	for range busyBatches {
		s.handoff.full <- <-s.handoff.free
	}
	s.noteBacklog(1)
	if s.backlogAt.IsZero() {
		t.Fatalf("%d batches queued: no backlog noted", busyBatches)
	}
	s.handoff = newHandoff[recordBatch](1)
	s.backlogAt = time.Time{}
	for range fullReads - 1 {
		s.noteBacklog(audit.BatchSlots)
	}
	if !s.backlogAt.IsZero() {
		t.Fatalf("%d full reads in a row taken for a backlog", fullReads-1)
	}
	s.noteBacklog(audit.BatchSlots)
	if s.backlogAt.IsZero() {
		t.Fatalf("%d full reads in a row: no backlog noted", fullReads)
	}
	now := s.backlogAt
	if s.controlDue(now.Add(time.Second)) {
		t.Error("control due 1 s into a backlog")
	}
	if !s.controlDue(t0.Add(controlDefer)) {
		t.Errorf("control still deferred %v after the last check", controlDefer)
	}
	if !s.controlDue(now.Add(controlDefer + 3*time.Second)) {
		t.Error("control deferred long after the backlog ended")
	}
}
