package sensor

import (
	"log/slog"
	"runtime"
	"time"
)

// The sensor runs Go code on one thread while the host is calm and on all
// CPUs while records pile up (README, "Cost and losses"). With a second P
// every hand-off between the reading goroutines and the loop wakes a
// second thread, which at 100 to 1,000 events/s costs about a third of the
// sensor's CPU; under a flood, one thread competing with the flooders for
// the CPU falls behind, the kernel's backlog fills, and audited syscalls
// wait or lose their records. The loop raises the P count the moment it
// sees a backlog, and lowers it again after procsCalm without one.
const (
	// busyBatches: this many batches queued behind the one being handled
	// is a backlog (at 1,000 events/s a read holds about one event), and
	// so are fullReads reads in a row that filled every slot (256 records
	// behind: 50 ms of 1,000 events/s, a few ms of a flood).
	busyBatches = 16
	fullReads   = 4
	// procsCalm is how long the hand-off must stay short before the
	// sensor goes back to one P.
	procsCalm = 10 * time.Second
)

// adaptiveProcs adapts GOMAXPROCS; the zero value does nothing.
type adaptiveProcs struct {
	log  *slog.Logger // nil: silent
	on   bool
	max  int // GOMAXPROCS found at start
	now  int
	busy time.Time // the last backlog seen
}

// start goes down to one P when adapting is on and there is more than one.
func (p *adaptiveProcs) start(adapt bool) {
	p.max = runtime.GOMAXPROCS(0)
	p.now = p.max
	p.on = adapt && p.max > 1
	if p.on {
		p.set(1)
	}
}

// backlog is called by the loop when it sees one.
func (p *adaptiveProcs) backlog(now time.Time) {
	p.busy = now
	if p.on && p.now == 1 {
		p.set(p.max)
	}
}

// tick goes back to one P once the backlog has been gone for procsCalm.
func (p *adaptiveProcs) tick(now time.Time) {
	if p.on && p.now > 1 && now.Sub(p.busy) >= procsCalm {
		p.set(1)
	}
}

// stop puts back the P count found at start.
func (p *adaptiveProcs) stop() {
	if p.on && p.now != p.max {
		p.set(p.max)
	}
}

func (p *adaptiveProcs) set(n int) {
	runtime.GOMAXPROCS(n)
	p.now = n
	if p.log != nil {
		p.log.Debug("GOMAXPROCS set", "procs", n)
	}
}
