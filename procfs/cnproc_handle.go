package procfs

import (
	"errors"
	"time"
)

// forkTolerance is how far (in ticks) a child's StartTime read from /proc
// may lie above the one computed from the fork's timestamp and still be
// the same process. The exact value is never above the computed one (see
// clockOffsets.startTicks); one tick absorbs the error of measuring the
// clock offsets. A later StartTime means the pid was reused.
const forkTolerance = 1

// forkGuard is how long after a tick boundary a fork's stamp may lie and
// its child's start time still be read from /proc. The kernel sets the
// child's start time in copy_process microseconds before it stamps the
// fork event, so a stamp further from the boundary gives the exact start
// time by itself: a /proc read (three system calls, a tenth of a fork's
// cost to the sensor) is needed for about one fork in ten. A start set
// more than forkGuard before its stamp (the vCPU taken away in between)
// can still come out one tick high (ticks.go, SameStart).
const forkGuard = time.Millisecond

// handle turns the payload of one netlink message into an Event. ok is
// false for messages that are counted but not emitted.
//
// The kernel sends cn_proc messages with type NLMSG_DONE and no flags
// (cn_netlink_send_mult in drivers/connector/connector.c). The listener's
// reads (mmsg.NextMessage) do not look at the type, so a NLMSG_DONE is not
// taken for the end of a multi-part reply
// (TestNextMessageSplitsAConnectorDatagram).
func (l *Listener) handle(payload []byte) (Event, bool) {
	l.stats.messages.Add(1)
	ev, _, ok, err := parseConnectorMessage(payload)
	if err != nil {
		l.stats.malformed.Add(1)
		l.log.Warn("malformed proc connector message", "error", err, "bytes", len(payload))
		return nil, false
	}
	if !ok {
		l.stats.other.Add(1)
		return nil, false
	}
	return l.decode(ev)
}

// decode turns a parsed proc_event into an Event, dropping threads.
func (l *Listener) decode(ev procEvent) (Event, bool) {
	o := l.offsets
	switch ev.What {
	case eventFork:
		if ev.Fork.ChildPID != ev.Fork.ChildTGID {
			l.stats.threads.Add(1)
			return nil, false
		}
		l.stats.forks.Add(1)
		return l.fork(ev), true
	case eventExec:
		if ev.Exec.PID != ev.Exec.TGID {
			l.stats.threads.Add(1)
			return nil, false
		}
		l.stats.execs.Add(1)
		return Exec{Time: o.wallTime(ev.TimestampNS), TimestampNS: ev.TimestampNS, PID: int(ev.Exec.TGID)}, true
	case eventExit:
		if ev.Exit.PID != ev.Exit.TGID {
			l.stats.threads.Add(1)
			return nil, false
		}
		l.stats.exits.Add(1)
		return Exit{
			Time: o.wallTime(ev.TimestampNS), TimestampNS: ev.TimestampNS, PID: int(ev.Exit.TGID),
			ExitCode: ev.Exit.ExitCode, ExitSignal: ev.Exit.ExitSignal, ParentPID: int(ev.Exit.ParentTGID),
		}, true
	case eventComm:
		if ev.Comm.PID != ev.Comm.TGID {
			l.stats.threads.Add(1)
			return nil, false
		}
		l.stats.comms.Add(1)
		return Comm{Time: o.wallTime(ev.TimestampNS), TimestampNS: ev.TimestampNS, PID: int(ev.Comm.TGID),
			Comm: commString(ev.Comm.Comm)}, true
	}
	l.stats.other.Add(1)
	return nil, false
}

// fork turns a fork event into a Fork. The child's start time, which
// entity ids derive from, comes from the event's stamp, or from /proc when
// the stamp lies near a tick boundary (forkGuard): read at once, as the
// child may exit (or exec) any moment.
func (l *Listener) fork(ev procEvent) Fork {
	o := l.offsets
	f := Fork{
		Time:        o.wallTime(ev.TimestampNS),
		TimestampNS: ev.TimestampNS,
		ParentPID:   int(ev.Fork.ParentTGID),
		ChildPID:    int(ev.Fork.ChildTGID),
	}
	approx := o.startTicks(ev.TimestampNS)
	// No comm: the child has its parent's, which the sensor knows.
	f.Child = Stat{PID: f.ChildPID, PPID: f.ParentPID, StartTime: approx}
	if o.sinceTick(ev.TimestampNS) >= forkGuard {
		return f
	}
	l.stats.statReads.Add(1)
	st, err := l.fs.Proc(f.ChildPID).Stat()
	if err == nil && st.StartTime <= approx+forkTolerance {
		f.Child, f.StatRead = st, true
		return f
	}
	if err != nil && !errors.Is(err, ErrGone) {
		l.log.Warn("read forked child", "pid", f.ChildPID, "error", err)
	}
	l.stats.childGone.Add(1)
	return f
}
