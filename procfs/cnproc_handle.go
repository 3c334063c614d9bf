package procfs

import "errors"

// forkTolerance is how far (in ticks) a child's StartTime read from /proc
// may lie above the one computed from the fork's timestamp and still be
// the same process. The exact value is never above the computed one (see
// clockOffsets.startTicks); one tick absorbs the error of measuring the
// clock offsets. A later StartTime means the pid was reused.
const forkTolerance = 1

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

// fork reads the new child's /proc/<pid>/stat at once: the child may exit
// (or exec) any moment, and its start time, which entity ids derive from,
// is only exact from /proc.
func (l *Listener) fork(ev procEvent) Fork {
	o := l.offsets
	f := Fork{
		Time:        o.wallTime(ev.TimestampNS),
		TimestampNS: ev.TimestampNS,
		ParentPID:   int(ev.Fork.ParentTGID),
		ChildPID:    int(ev.Fork.ChildTGID),
	}
	approx := o.startTicks(ev.TimestampNS)
	st, err := l.fs.Proc(f.ChildPID).Stat()
	if err == nil && st.StartTime <= approx+forkTolerance {
		f.Child, f.Exact = st, true
		return f
	}
	if err != nil && !errors.Is(err, ErrGone) {
		l.log.Warn("read forked child", "pid", f.ChildPID, "error", err)
	}
	l.stats.childGone.Add(1)
	// No comm: a read of the parent's for it would cost a /proc read per
	// short-lived child, and the sensor knows the parent's name.
	f.Child = Stat{PID: f.ChildPID, PPID: f.ParentPID, StartTime: approx}
	return f
}
