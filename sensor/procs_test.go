package sensor

import (
	"runtime"

	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
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

// TestBacklogNoted: many queued batches, or fullReads full reads in a
// row, are a backlog; fewer are not.
func TestBacklogNoted(t *testing.T) {
	s := &sensor{handoff: newHandoff[recordBatch](busyBatches + 1)}
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
	s.noteBacklog(1)
	s.noteBacklog(audit.BatchSlots)
	if !s.backlogAt.IsZero() {
		t.Fatalf("full reads not in a row taken for a backlog")
	}
	for range fullReads - 1 {
		s.noteBacklog(audit.BatchSlots)
	}
	if s.backlogAt.IsZero() {
		t.Fatalf("%d full reads in a row: no backlog noted", fullReads)
	}
}
