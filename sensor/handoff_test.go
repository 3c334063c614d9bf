package sensor

import (
	"context"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

// TestHandoffFullAtTick fills the hand-off from the audit goroutine's side
// and runs the loop's tick work meanwhile: it must not wait for the audit
// goroutine, and once the loop drains the batches every record arrives.
// Before the hand-off of batches, push held the assembler's mutex while it
// waited on a full event channel and the tick's flushAssembler waited for
// that mutex: the loop never drained the channel again and the sensor was
// blind until it stopped.
func TestHandoffFullAtTick(t *testing.T) {
	s := benchSensor(t)
	s.handoff = newHandoff[recordBatch](2)
	recs := loadRecordFile(t, "exec-ordinary.txt")
	seedTree(t, s, recs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The loop is busy (it holds mu): the first read is queued, and so is
	// every later one while it waits (push keeps the order).
	s.mu.Lock()
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for _, r := range recs { // one batch per record: many more than 2
			s.push(ctx, []audit.Record{r})
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); len(s.handoff.full) < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the hand-off never filled")
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); len(s.handoff.full) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the hand-off never filled")
		}
		time.Sleep(time.Millisecond)
	}

	tick := make(chan struct{})
	go func() {
		defer close(tick)
		s.mu.Lock() // as the loop does
		defer s.mu.Unlock()
		now := time.Now()
		s.flushAssembler(now)
		s.engine.Expire(now)
		_ = s.asm.Stats() // what logHealth reads
	}()
	select {
	case <-tick:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop's tick waits on the audit goroutine while the hand-off is full")
	}

	for done := false; !done; {
		select {
		case b := <-s.handoff.full:
			s.handleBatch(b)
		case <-pushed:
			for len(s.handoff.full) > 0 {
				s.handleBatch(<-s.handoff.full)
			}
			done = true
		case <-time.After(5 * time.Second):
			t.Fatal("push did not go on after the loop drained the hand-off")
		}
	}
	if got := s.asm.Stats().Records; got != uint64(len(recs)) {
		t.Errorf("%d records assembled, want all %d", got, len(recs))
	}
	if s.counts.Execs == 0 {
		t.Error("no exec event came out of the records")
	}
}

// TestPushReturnsWhenStopped: a push waiting on a full hand-off returns
// when the sensor stops, so the audit goroutine can end.
func TestPushReturnsWhenStopped(t *testing.T) {
	s := benchSensor(t)
	s.handoff = newHandoff[recordBatch](1)
	recs := loadRecordFile(t, "exec-ordinary.txt")
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock() // the loop is busy: reads are queued
	defer s.mu.Unlock()
	s.push(ctx, recs[:1])
	done := make(chan struct{})
	go func() { s.push(ctx, recs[1:2]); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("push still waits after the context ended")
	}
}

// TestBatchFillCopies: a batch keeps its records after the receive buffer
// they came from is overwritten.
func TestBatchFillCopies(t *testing.T) {
	buf := []byte("audit(1.000:1): aaudit(1.000:2): b")
	recs := []audit.Record{{Type: 1300, Data: buf[:17]}, {Type: 1320, Data: buf[17:]}}
	var b recordBatch
	b.fill(recs)
	for i := range buf {
		buf[i] = 'x'
	}
	if len(b.recs) != 2 || string(b.recs[0].Data) != "audit(1.000:1): a" || string(b.recs[1].Data) != "audit(1.000:2): b" ||
		b.recs[1].Type != 1320 {
		t.Errorf("batch %+v", b.recs)
	}
	// A record's Data cannot grow into the next one's.
	if cap(b.recs[0].Data) != len(b.recs[0].Data) {
		t.Errorf("record 0 has capacity %d past its length %d", cap(b.recs[0].Data), len(b.recs[0].Data))
	}
}

// A read that reaches an idle loop is handled by the audit goroutine
// itself, without a copy or a hand-off; while anything is queued it is
// queued behind it (the order holds), and a read that filled every slot
// is queued too (more are coming; the loop handles one read while the
// next is read).
func TestPushHandlesAReadForAnIdleLoop(t *testing.T) {
	s := benchSensor(t)
	recs := loadRecordFile(t, "exec-ordinary.txt")
	seedTree(t, s, recs)
	ctx := context.Background()
	s.push(ctx, recs[:1])
	if len(s.handoff.full) != 0 || s.asm.Stats().Records != 1 {
		t.Fatalf("idle loop: %d batches queued, %d records assembled; want 0 and 1", len(s.handoff.full), s.asm.Stats().Records)
	}

	s.mu.Lock() // the loop is busy
	s.push(ctx, recs[1:2])
	s.mu.Unlock()
	s.push(ctx, recs[2:3]) // idle again, but a read is queued
	if len(s.handoff.full) != 2 || s.asm.Stats().Records != 1 {
		t.Fatalf("behind a queued read: %d batches queued, %d records assembled; want 2 and 1", len(s.handoff.full), s.asm.Stats().Records)
	}
	for len(s.handoff.full) > 0 {
		s.handleBatch(<-s.handoff.full)
	}
	if s.queued.Load() != 0 || s.asm.Stats().Records != 3 {
		t.Fatalf("after the loop: queued %d, %d records; want 0 and 3", s.queued.Load(), s.asm.Stats().Records)
	}

	full := make([]audit.Record, audit.BatchSlots)
	for i := range full {
		full[i] = recs[(3+i)%len(recs)]
	}
	s.push(ctx, full)
	if len(s.handoff.full) != 1 {
		t.Errorf("a read that filled every slot was not queued")
	}
}
