package sensor

import (
	"context"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// The audit goroutine reads the data socket (and the proc connector after
// it); the event loop owns everything else, the assembler included.
// Between them travel batches of raw records (what one read of the socket
// returned, copied out of its buffers), from a fixed set that goes round:
// the loop hands each batch back once its records are assembled. Neither
// side ever waits on the other while it holds the loop's lock (mu), so a
// full hand-off cannot stall the loop's tick, and one wake-up of the loop
// carries up to 64 records, not one event.
//
// When the loop is idle and nothing is queued, the audit goroutine takes
// the lock and handles its read itself (handleNow): at low rates the copy
// and the goroutine switch of a hand-off cost as much as the records'
// handling.
const (
	// handoffBatches bounds the records in flight between the two
	// goroutines (64 batches of up to 64 records); beyond it the audit
	// goroutine waits and records wait in the socket's receive buffer.
	handoffBatches = 64
	// procBatches bounds the proc connector's batches in flight (each the
	// events of one read, up to 64); beyond it the listener waits and
	// events wait in the connector socket's receive buffer.
	procBatches = 512
	// keepBatchBytes is the largest buffer a returned batch keeps; a
	// batch of long EXECVE records gives a larger one back to the GC.
	keepBatchBytes = 256 << 10
	// minBatchBytes is the least buffer a batch gets: the records of a
	// few events.
	minBatchBytes = 4 << 10
)

// recordBatch is records copied out of the socket's receive buffers.
type recordBatch struct {
	recs []audit.Record
	data []byte
}

// fill copies recs into b; b.recs point into b.data.
func (b *recordBatch) fill(recs []audit.Record) {
	n := 0
	for _, r := range recs {
		n += len(r.Data)
	}
	if cap(b.data) < n {
		// Grown in powers of two: the batches go round, and each would
		// otherwise grow a little with every larger read.
		c := minBatchBytes
		for c < n {
			c <<= 1
		}
		b.data = make([]byte, 0, c)
	}
	b.data, b.recs = b.data[:0], b.recs[:0]
	for _, r := range recs {
		start := len(b.data)
		b.data = append(b.data, r.Data...)
		b.recs = append(b.recs, audit.Record{Type: r.Type, Data: b.data[start:len(b.data):len(b.data)]})
	}
}

// procBatch is the proc connector events of one read of its socket.
type procBatch struct {
	evs []procfs.Event
}

// handoff is the channel pair between a reading goroutine and the loop.
type handoff[B any] struct {
	full chan *B // to the loop
	free chan *B // back to the reading goroutine
}

func newHandoff[B any](batches int) handoff[B] {
	h := handoff[B]{full: make(chan *B, batches), free: make(chan *B, batches)}
	for range batches {
		h.free <- new(B)
	}
	return h
}

// push is the audit goroutine's only entry into the sensor: it handles
// the records of one socket read itself when it can (handleNow), else
// copies them into a free batch and queues it for the event loop. It
// waits (holding nothing) while every batch is in flight, and returns at
// once when ctx is done. The records are not used after it returns.
func (s *sensor) push(ctx context.Context, recs []audit.Record) {
	if s.handleNow(len(recs) < audit.BatchSlots) {
		s.noteBacklog(len(recs))
		s.assemble(recs)
		s.handledNow()
		return
	}
	var b *recordBatch
	select {
	case b = <-s.handoff.free:
	case <-ctx.Done():
		return
	}
	b.fill(recs)
	s.queued.Add(1)
	// full has room for every batch there is: this never waits.
	s.handoff.full <- b
}

// handleNow takes mu for an audit goroutine that would hand a read to an
// idle loop: handling it there spares the copy and a goroutine switch per
// read, the cost that dominates at low rates. It declines (holding
// nothing) while anything is queued for the loop, whose order must hold,
// or the loop is busy, or the sensor runs on more than one P, where the
// loop handles a read while the next is being read; and for a read that
// filled every slot (more are coming). On true the caller handles the
// read and calls handledNow.
func (s *sensor) handleNow(small bool) bool {
	if !small || s.queued.Load() != 0 || !s.mu.TryLock() {
		return false
	}
	if s.queued.Load() != 0 || s.adapt.now > 1 {
		s.mu.Unlock()
		return false
	}
	return true
}

// handledNow ends handleNow's turn: the loop re-arms its held-event
// timer if the read held events.
func (s *sensor) handledNow() {
	if d, ok := s.res.nextDeadline(); ok && !d.Equal(s.heldAt) {
		select {
		case s.nudge <- struct{}{}:
		default: // a nudge is pending already
		}
	}
	s.mu.Unlock()
}

// handleBatch assembles a batch's records on the event loop and handles
// every event they complete, then returns the batch.
func (s *sensor) handleBatch(b *recordBatch) {
	s.assemble(b.recs)
	if cap(b.data) > keepBatchBytes {
		b.data = nil
	}
	b.recs = b.recs[:0]
	s.queued.Add(-1)
	s.handoff.free <- b // free has room for every batch there is
}

// assemble pushes records through the assembler and handles every event
// they complete.
func (s *sensor) assemble(recs []audit.Record) {
	for _, r := range recs {
		if err := s.asm.Push(r, s.emit); err != nil {
			s.log.Warn("audit record refused", "type", r.Type, "err", err.Error())
		}
	}
}

// drainProcs reads the proc connector without waiting and queues what it
// held for the loop (audit.Config.CompanionRead: the audit goroutines call
// it after each read, before they push the records read).
func (s *sensor) drainProcs() error { return s.lis.Drain(s.handProcs) }

// pushProcs is the proc connector's entry into the sensor, as push is the
// audit goroutine's: one batch per read of the socket, so a burst of forks
// wakes the loop once. The exec of an audit daemon is acted on here, ahead
// of the loop (watchDaemon says why).
func (s *sensor) pushProcs(evs []procfs.Event) {
	for _, ev := range evs {
		if e, ok := ev.(procfs.Exec); ok {
			s.watchDaemon(e)
		}
	}
	if s.handleNow(true) {
		for _, ev := range evs {
			s.applyProcEvent(ev)
		}
		s.handledNow()
		return
	}
	var b *procBatch
	select {
	case b = <-s.procs.free:
	case <-s.runCtx.Done():
		return
	}
	b.evs = append(b.evs[:0], evs...)
	s.queued.Add(1)
	s.procs.full <- b // full has room for every batch there is
}

// applyProcBatch applies a batch of proc connector events on the event
// loop, then returns the batch.
func (s *sensor) applyProcBatch(b *procBatch) {
	for _, ev := range b.evs {
		s.applyProcEvent(ev)
	}
	clear(b.evs) // let the events go
	b.evs = b.evs[:0]
	s.queued.Add(-1)
	s.procs.free <- b
}

// emitAudit handles one assembled event (s.emit is it, bound once so the
// per-record path does not allocate a method value).
func (s *sensor) emitAudit(ev audit.Event) {
	s.drainProcEvents()
	s.handleAudit(ev)
}

// flushAssembler ends events whose EOE record never came.
func (s *sensor) flushAssembler(now time.Time) {
	s.asm.Flush(now, s.emit)
}
