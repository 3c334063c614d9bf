package sensor

import (
	"math"
	"slices"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
	"github.com/aptsentinel/aptsentinel/rules"
)

// LossRuleID and LossRuleName name the sensor's own rule for lost events
// (DESIGN.md, the APT rule family): the alert built from a LossReport
// carries them.
const (
	LossRuleID   = rules.LossRuleID
	LossRuleName = "Sensor lost kernel audit events"
)

// lossReportEvery is the least time between two loss reports while losses
// go on (the first comes at once).
const lossReportEvery = time.Minute

// LossReport says what the sensor lost between Start and End: every
// counter of events that never reached it. While losses go on there is at
// most one report a minute, each with the increases since the one before;
// the last (Final) totals the whole run, losses or not.
type LossReport struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Final bool      `json:"final"`
	// KernelLost is the kernel's count of records it dropped (audit
	// status "lost": backlog full, rate limit, no memory).
	KernelLost LossCount `json:"kernel_lost"`
	// SerialGaps is audit event serials that never arrived (lost on the
	// way, or dropped by the kernel: it overlaps KernelLost).
	SerialGaps LossCount `json:"serial_gaps"`
	// SocketOverruns is receive-queue overflows reported by an audit
	// socket (ENOBUFS: the multicast socket's; the data socket has
	// NETLINK_NO_ENOBUFS, the kernel retrying what did not fit), and
	// datagrams cut because they did not fit a read slot.
	SocketOverruns LossCount `json:"socket_overruns"`
	// ConnectorOverruns is overflows of the proc connector socket: fork,
	// exec and exit events lost.
	ConnectorOverruns LossCount `json:"connector_overruns"`
	// BlindWindows is times the sensor's rules, the enabled flag or the
	// audit PID were gone until the repair loop put them back (an admin's
	// `augenrules --load`, `auditctl -D`): the kernel made no record then,
	// so there is no count of events, only the windows.
	BlindWindows BlindCount `json:"blind_windows"`
}

// BlindCount is the blind windows of a report: how many, how long in all,
// and the span from the first one's start to the last one's end (nil when
// there were none).
type BlindCount struct {
	Count   *uint64    `json:"count"`
	Seconds float64    `json:"seconds"`
	From    *time.Time `json:"from"`
	To      *time.Time `json:"to"`
	// What says what was undone, each kind once, in order of first seen.
	What []string `json:"what,omitempty"`
}

// blindSpan gathers the blind windows not yet reported.
type blindSpan struct {
	from, to time.Time
	what     []string
}

func (b *blindSpan) add(w audit.BlindWindow) {
	if b.from.IsZero() || w.From.Before(b.from) {
		b.from = w.From
	}
	if w.To.After(b.to) {
		b.to = w.To
	}
	if !slices.Contains(b.what, w.What) {
		b.what = append(b.what, w.What)
	}
}

func (b blindSpan) count(n, nanos uint64) BlindCount {
	c := BlindCount{Count: &n, Seconds: math.Round(float64(nanos)/1e6) / 1e3}
	if !b.from.IsZero() {
		from, to := b.from, b.to
		c.From, c.To, c.What = &from, &to, b.what
	}
	return c
}

// LossCount is one counter: Count is nil when it cannot be known, and
// Reason says why.
type LossCount struct {
	Count  *uint64 `json:"count"`
	Reason string  `json:"reason,omitempty"`
}

// Any reports whether any known count is above zero.
func (r LossReport) Any() bool {
	for _, c := range []LossCount{r.KernelLost, r.SerialGaps, r.SocketOverruns, r.ConnectorOverruns} {
		if c.Count != nil && *c.Count > 0 {
			return true
		}
	}
	return r.BlindWindows.Count != nil && *r.BlindWindows.Count > 0
}

// lossCounters is a reading of the cumulative counters a LossReport is
// made of; kernelErr is set when the kernel's counter could not be read.
type lossCounters struct {
	kernelLost, serialGaps, socketOverruns, connectorOverruns uint64
	// blindWindows and blindNanos count the blind windows and their
	// total length (lossTracker.addBlind).
	blindWindows, blindNanos uint64
	kernelErr                error
}

func readLossCounters(kernelLost uint64, kernelErr error, st audit.StreamStats, ls procfs.ListenerStats) lossCounters {
	return lossCounters{
		kernelLost:        kernelLost,
		kernelErr:         kernelErr,
		serialGaps:        st.SerialGaps,
		socketOverruns:    st.ENOBUFS + st.Truncated,
		connectorOverruns: ls.Overruns,
	}
}

// lossTracker turns readings of the counters into LossReports, at most one
// per lossReportEvery while losses go on.
type lossTracker struct {
	started    time.Time
	first      lossCounters // at start: the totals are counted from it
	reported   lossCounters // at the last report
	lastCheck  time.Time
	lastReport time.Time
	// since is when the losses not yet reported began (the check before
	// the first increase); zero when there are none.
	since time.Time
	// blindWindows and blindNanos total the blind windows taken so far;
	// pendingBlind spans those not yet reported, runBlind all of them.
	blindWindows, blindNanos uint64
	pendingBlind, runBlind   blindSpan
}

// addBlind takes blind windows the session closed and returns the totals.
func (t *lossTracker) addBlind(ws []audit.BlindWindow) {
	for _, w := range ws {
		t.blindWindows++
		t.blindNanos += uint64(max(w.To.Sub(w.From), 0))
		t.pendingBlind.add(w)
		t.runBlind.add(w)
	}
}

func newLossTracker(now time.Time, c lossCounters) *lossTracker {
	return &lossTracker{started: now, first: c, reported: c, lastCheck: now}
}

// check takes a reading at now and returns a report when one is due.
func (t *lossTracker) check(now time.Time, c lossCounters) (LossReport, bool) {
	prevCheck := t.lastCheck
	t.lastCheck = now
	if c.kernelErr != nil {
		// Keep the last known value; the report says the count is unknown.
		c.kernelLost = t.reported.kernelLost
	}
	if c.serialGaps < t.reported.serialGaps {
		// A serial settled as missing arrived after all (the count is of
		// serials still missing): a gap already reported stays reported,
		// and a new one after it still counts.
		t.reported.serialGaps = c.serialGaps
	}
	if c == t.reported || (c.kernelErr != nil && c.serialGaps == t.reported.serialGaps &&
		c.socketOverruns == t.reported.socketOverruns && c.connectorOverruns == t.reported.connectorOverruns &&
		c.blindWindows == t.reported.blindWindows) {
		return LossReport{}, false
	}
	if t.since.IsZero() && !t.pendingBlind.from.IsZero() && t.pendingBlind.from.Before(prevCheck) {
		t.since = t.pendingBlind.from // the window began before this check period
	}
	if t.since.IsZero() {
		t.since = prevCheck
	}
	if !t.lastReport.IsZero() && now.Sub(t.lastReport) < lossReportEvery {
		return LossReport{}, false
	}
	r := makeReport(t.since, now, t.reported, c)
	r.BlindWindows = t.pendingBlind.count(c.blindWindows-t.reported.blindWindows, c.blindNanos-t.reported.blindNanos)
	t.reported, t.lastReport, t.since, t.pendingBlind = c, now, time.Time{}, blindSpan{}
	return r, r.Any() || c.kernelErr != nil
}

// final is the stop record's report: totals since start.
func (t *lossTracker) final(now time.Time, c lossCounters) LossReport {
	if c.kernelErr != nil {
		c.kernelLost = t.reported.kernelLost
	}
	r := makeReport(t.started, now, t.first, c)
	r.BlindWindows = t.runBlind.count(c.blindWindows-t.first.blindWindows, c.blindNanos-t.first.blindNanos)
	r.Final = true
	return r
}

func makeReport(start, end time.Time, from, to lossCounters) LossReport {
	r := LossReport{
		Start:             start,
		End:               end,
		KernelLost:        known(to.kernelLost - from.kernelLost),
		SerialGaps:        known(to.serialGaps - min(from.serialGaps, to.serialGaps)),
		SocketOverruns:    known(to.socketOverruns - from.socketOverruns),
		ConnectorOverruns: known(to.connectorOverruns - from.connectorOverruns),
		BlindWindows:      blindSpan{}.count(to.blindWindows-from.blindWindows, to.blindNanos-from.blindNanos),
	}
	if to.kernelErr != nil {
		r.KernelLost = LossCount{Reason: "reading the kernel's audit status failed: " + to.kernelErr.Error()}
	}
	return r
}

func known(n uint64) LossCount { return LossCount{Count: &n} }

// readLosses reads every loss counter now.
func (s *sensor) readLosses() lossCounters {
	lost, err := s.sess.Lost()
	return s.lossCounters(lost, err)
}

// lossCounters gathers every loss counter given the kernel's lost counter
// as read (on the control goroutine, or by readLosses). The kernel's
// 32-bit counter is widened against the last reading (s.kernelLost, which
// starts at the value found at start); the blind windows the session
// closed since are taken into the tracker.
func (s *sensor) lossCounters(lost uint32, lostErr error) lossCounters {
	if lostErr == nil {
		s.kernelLost = kernelLostSince(s.kernelLost, lost)
	}
	c := readLossCounters(s.kernelLost, lostErr, s.sess.Stats(), s.lis.Stats())
	if s.losses != nil {
		s.losses.addBlind(s.sess.TakeBlindWindows())
		c.blindWindows, c.blindNanos = s.losses.blindWindows, s.losses.blindNanos
	}
	return c
}

// finalLosses reports the totals of the run; it is the stop record.
func (s *sensor) finalLosses(now time.Time) {
	r := s.losses.final(now, s.readLosses())
	s.reportLoss(r)
}

func (s *sensor) reportLoss(r LossReport) {
	msg := LossRuleName
	level := "warn"
	if r.Final {
		msg = "loss totals at stop"
		if !r.Any() {
			level = "info"
		}
	}
	attrs := []any{"rule.id", LossRuleID, "losses", r}
	if r.Final {
		// Not a loss by itself (on the data socket the kernel retries),
		// but what tells a full socket from other causes of a serial gap.
		if st := s.sess.Stats(); st.DropsUnknown {
			attrs = append(attrs, "audit_socket_drops", "unknown: the kernel does not report them")
		} else {
			attrs = append(attrs, "audit_socket_drops", st.Drops)
		}
	}
	if level == "warn" {
		var missing []uint64
		if r.SerialGaps.Count != nil && *r.SerialGaps.Count > 0 {
			// To look for in the kernel log: a record no reader took is
			// printed there (kernel/audit.c kauditd_printk_skb).
			missing = s.sess.LastMissingSerials()
		}
		s.log.Warn(msg, append(attrs, "last_missing_serials", missing)...)
	} else {
		s.log.Info(msg, attrs...)
	}
	s.raiseLoss(r)
	if s.cfg.OnLoss != nil {
		s.cfg.OnLoss(r)
	}
}
