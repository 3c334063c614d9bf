package sensor

import (
	"context"
	"fmt"
	"time"
)

// The tick's talk to the kernel's audit control interface (the lost
// counter and Session.Repair: status and rule-list requests) runs on a
// goroutine of its own. A control request sent while the kernel's backlog
// is over its limit makes the sender sleep up to backlog_wait_time before
// it returns (kernel/audit.c audit_receive, "penalize the sender"); on the
// event loop, the one goroutine that empties the backlog, that sleep kept
// the backlog full under a flood and the flooders' records timed out
// (README, "Cost and losses").

// controlResult is one round of control work, for the loop.
type controlResult struct {
	at      time.Time
	lost    uint32 // the kernel's lost counter
	lostErr error
	err     error // Repair's fatal error (audit.ErrPIDTakenOver)
}

// runControl does a round of control work for each request until ctx is
// done. The loop sends a request per tick without waiting; one still in
// flight makes it skip that tick.
func (s *sensor) runControl(ctx context.Context, req <-chan time.Time, res chan<- controlResult) {
	for {
		var at time.Time
		select {
		case <-ctx.Done():
			return
		case at = <-req:
		}
		r := controlResult{at: at}
		rep, err := s.sess.Repair()
		// One status request a round: Repair's gives the lost counter.
		if rep.StatusRead {
			r.lost = rep.Status.Lost
		} else {
			r.lostErr = fmt.Errorf("audit status not read: %w", err)
		}
		r.err = s.noteRepair(rep, err)
		select {
		case res <- r:
		case <-ctx.Done():
			return
		}
	}
}

// applyControl takes a round's results on the loop: the loss check
// (with the counter read off the loop), blind windows included.
func (s *sensor) applyControl(r controlResult) {
	if rep, due := s.losses.check(r.at, s.lossCounters(r.lost, r.lostErr)); due {
		s.reportLoss(rep)
	}
}
