package sensor

import (
	"errors"
	"math"

	"github.com/aptsentinel/aptsentinel/audit"
)

// losses are the counters of everything the sensor can lose, each
// cumulative. Nothing may be lost silently: logHealth warns with the
// increase of each one since its last look.
type losses struct {
	KernelLost         uint64 // records the kernel dropped (audit status "lost")
	SocketOverruns     uint64 // ENOBUFS on an audit socket (the multicast one: the data socket has NETLINK_NO_ENOBUFS)
	ForeignRecords     uint64 // audit datagrams not sent by the kernel, dropped
	ConnectorOverruns  uint64 // ENOBUFS on the proc connector: fork/exit events lost
	MalformedRecords   uint64 // audit records that did not parse
	ArgcMismatches     uint64 // execs whose argv came out incomplete
	EventsEvicted      uint64 // in-flight audit events pushed out of a full table
	SequencesEvicted   uint64 // pending sequences pushed out of a full table
	UnresolvedProcs    uint64 // events whose process or parent was found nowhere
	AlertsNotDelivered uint64 // alerts the output refused
}

// sub returns the increase of each counter from old to l.
func (l losses) sub(old losses) losses {
	return losses{
		KernelLost:         l.KernelLost - old.KernelLost,
		SocketOverruns:     l.SocketOverruns - old.SocketOverruns,
		ForeignRecords:     l.ForeignRecords - old.ForeignRecords,
		ConnectorOverruns:  l.ConnectorOverruns - old.ConnectorOverruns,
		MalformedRecords:   l.MalformedRecords - old.MalformedRecords,
		ArgcMismatches:     l.ArgcMismatches - old.ArgcMismatches,
		EventsEvicted:      l.EventsEvicted - old.EventsEvicted,
		SequencesEvicted:   l.SequencesEvicted - old.SequencesEvicted,
		UnresolvedProcs:    l.UnresolvedProcs - old.UnresolvedProcs,
		AlertsNotDelivered: l.AlertsNotDelivered - old.AlertsNotDelivered,
	}
}

// kernelLostSince turns the kernel's 32-bit lost counter into a growing
// 64-bit one; the counter wraps (kernel/audit.c atomic_t audit_lost).
func kernelLostSince(prev uint64, now uint32) uint64 {
	low := uint32(prev & math.MaxUint32)
	return prev + uint64(now-low)
}

// logHealth logs the sensor's counters every health interval when they
// moved, at warn level with the increases when anything was lost.
//
// The kernel's lost counter is the one the tick last read (control.go): no
// control request of its own, which would make the loop sleep while the
// kernel's backlog is full.
func (s *sensor) logHealth() {
	st, ls, es := s.sess.Stats(), s.lis.Stats(), s.engine.Stats()
	as := s.asm.Stats()
	now := losses{
		KernelLost:         max(s.kernelLost, s.lossesSeen.KernelLost),
		SocketOverruns:     st.ENOBUFS,
		ForeignRecords:     st.Foreign,
		ConnectorOverruns:  ls.Overruns,
		MalformedRecords:   as.Malformed,
		ArgcMismatches:     as.ArgcMismatch,
		EventsEvicted:      as.Evicted,
		SequencesEvicted:   es.Evicted,
		UnresolvedProcs:    s.res.stats.Unresolved,
		AlertsNotDelivered: s.counts.AlertErrors,
	}
	delta := now.sub(s.lossesSeen)
	s.lossesSeen = now
	if delta != (losses{}) {
		s.log.Warn("events lost since the last health record", "lost", delta, "lost_total", now)
	}
	if s.counts == s.lastLog {
		return
	}
	s.lastLog = s.counts
	s.log.Info("health",
		"execs", s.counts.Execs, "connects", s.counts.Connects, "files", s.counts.Files, "forks", s.counts.Forks,
		"exits", s.counts.Exits, "alerts", s.counts.Alerts,
		"audit", st, "connector", ls, "assembler", as, "engine", es,
		"cache_len", s.tree.Len(), "cache_bytes", s.tree.Bytes(), "cache_evicted", s.tree.Evicted(), "resolve", s.res.stats)
}

// noteRepair takes the outcome of audit.Session.Repair, which put back
// what others changed in the kernel's audit state while the sensor runs:
// events in between were not seen, so it says so at warn level. Only a
// takeover of the audit PID by a live process ends the sensor: it cannot
// see anything any more.
func (s *sensor) noteRepair(r audit.Repairs, err error) error {
	if errors.Is(err, audit.ErrPIDTakenOver) {
		return err
	}
	if err != nil {
		s.log.Warn("checking the kernel audit state", "err", err.Error())
		return nil
	}
	if r.Any() {
		s.log.Warn("audit state repaired: another program had changed it, events in between were not seen",
			"reenabled", r.Reenabled, "rules_reinstalled", r.RulesReinstalled, "pid_reclaimed", r.PIDReclaimed)
	}
	return nil
}
