package procfs

import (
	"log/slog"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// connectorMessage wraps a proc_event as the kernel does: cn_msg inside a
// netlink message of type NLMSG_DONE without flags.
func connectorMessage(t testing.TB, ev procEvent) netlink.Message {
	t.Helper()
	data, err := ev.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cnMsg{Idx: cnIdxProc, Val: cnValProc, Data: data}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: b}
}

func fixtureListener(t *testing.T) *Listener {
	t.Helper()
	l := newListener(fixtureFS(t), nil, ListenConfig{Logger: slog.New(slog.DiscardHandler)})
	l.offsets = clockOffsets{bootMinusMono: 0, realMinusMono: 1_700_000_000 * int64(time.Second)}
	return l
}

func forkEvent(parent, childPID, childTGID int32, ticks uint64) procEvent {
	var ev procEvent
	ev.What = eventFork
	ev.TimestampNS = ticks * uint64(tick)
	ev.Fork.ParentPID, ev.Fork.ParentTGID = parent, parent
	ev.Fork.ChildPID, ev.Fork.ChildTGID = childPID, childTGID
	return ev
}

func TestHandleFork(t *testing.T) {
	tests := []struct {
		name string
		ev   procEvent
		want Fork
	}{
		{
			name: "child read from /proc",
			ev:   forkEvent(6708, 6712, 6712, 48223),
			want: Fork{ParentPID: 6708, ChildPID: 6712, StatRead: true,
				Child: Stat{PID: 6712, Comm: "sh", State: 'S', PPID: 6708, Flags: 4194304, StartTime: 48223}},
		},
		{
			name: "start read one tick above the computed one (offset jitter)",
			ev:   forkEvent(6708, 6712, 6712, 48222),
			want: Fork{ParentPID: 6708, ChildPID: 6712, StatRead: true,
				Child: Stat{PID: 6712, Comm: "sh", State: 'S', PPID: 6708, Flags: 4194304, StartTime: 48223}},
		},
		{
			name: "child gone: no comm (the sensor has the parent's), start from the timestamp",
			ev:   forkEvent(6710, 424242, 424242, 50000),
			want: Fork{ParentPID: 6710, ChildPID: 424242, Child: Stat{PID: 424242, PPID: 6710, StartTime: 50000}},
		},
		{
			name: "pid already reused by a later process",
			ev:   forkEvent(6710, 6993, 6993, 48000),
			want: Fork{ParentPID: 6710, ChildPID: 6993, Child: Stat{PID: 6993, PPID: 6710, StartTime: 48000}},
		},
		{
			name: "child and parent gone",
			ev:   forkEvent(515151, 424242, 424242, 50000),
			want: Fork{ParentPID: 515151, ChildPID: 424242, Child: Stat{PID: 424242, PPID: 515151, StartTime: 50000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := fixtureListener(t)
			e, ok := l.handle(connectorMessage(t, tt.ev).Data)
			if !ok {
				t.Fatal("fork not emitted")
			}
			got := e.(Fork)
			tt.want.TimestampNS = tt.ev.TimestampNS
			tt.want.Time = l.offsets.wallTime(tt.ev.TimestampNS)
			if got != tt.want {
				t.Errorf("fork:\n got %+v\nwant %+v", got, tt.want)
			}
			if gone := l.Stats().ChildGone; gone != map[bool]uint64{true: 0, false: 1}[tt.want.StatRead] {
				t.Errorf("ChildGone = %d for exact=%v", gone, tt.want.StatRead)
			}
		})
	}
}

func TestHandleOtherEvents(t *testing.T) {
	var exec, exit, comm, uid procEvent
	exec.What, exec.TimestampNS = eventExec, 5e9
	exec.Exec.PID, exec.Exec.TGID = 20, 20
	exit.What = eventExit
	exit.Exit.PID, exit.Exit.TGID, exit.Exit.ExitCode, exit.Exit.ExitSignal = 20, 20, 9, 17
	exit.Exit.ParentPID, exit.Exit.ParentTGID = 11, 10
	comm.What = eventComm
	comm.Comm.PID, comm.Comm.TGID = 20, 20
	copy(comm.Comm.Comm[:], "a b) (c")
	uid.What = 0x4

	l := fixtureListener(t)
	wall := l.offsets.wallTime(5e9)
	tests := []struct {
		ev   procEvent
		want Event
	}{
		{exec, Exec{Time: wall, TimestampNS: 5e9, PID: 20}},
		{exit, Exit{Time: l.offsets.wallTime(0), PID: 20, ExitCode: 9, ExitSignal: 17, ParentPID: 10}},
		{comm, Comm{Time: l.offsets.wallTime(0), PID: 20, Comm: "a b) (c"}},
		{uid, nil},
	}
	for _, tt := range tests {
		got, ok := l.handle(connectorMessage(t, tt.ev).Data)
		if ok != (tt.want != nil) || got != tt.want {
			t.Errorf("%#x: got %+v (%v), want %+v", uint32(tt.ev.What), got, ok, tt.want)
		}
	}
	want := ListenerStats{Messages: 4, Execs: 1, Exits: 1, Comms: 1, Other: 1}
	if st := l.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// TestHandleDropsThreads checks that events about non-leader threads are
// counted and not emitted.
func TestHandleDropsThreads(t *testing.T) {
	var exec, exit, comm procEvent
	exec.What = eventExec
	exec.Exec.PID, exec.Exec.TGID = 21, 20
	exit.What = eventExit
	exit.Exit.PID, exit.Exit.TGID = 21, 20
	comm.What = eventComm
	comm.Comm.PID, comm.Comm.TGID = 21, 20
	l := fixtureListener(t)
	for _, ev := range []procEvent{forkEvent(20, 21, 20, 1), exec, exit, comm} {
		if e, ok := l.handle(connectorMessage(t, ev).Data); ok {
			t.Errorf("thread event %#x emitted as %+v", uint32(ev.What), e)
		}
	}
	if st := l.Stats(); st.Threads != 4 || st.Forks+st.Execs+st.Exits+st.Comms != 0 {
		t.Errorf("stats %+v, want 4 threads and nothing else", st)
	}
}

func TestHandleCountsMalformed(t *testing.T) {
	l := fixtureListener(t)
	bad := []netlink.Message{
		{Data: []byte{1, 2, 3}},
		{Data: make([]byte, cnMsgHeaderLen)}, // cb_id {0, 0}: another user, counted as other
	}
	short, _ := cnMsg{Idx: 1, Val: 1, Data: []byte{1, 0, 0, 0}}.MarshalBinary()
	bad = append(bad, netlink.Message{Data: short})
	for _, m := range bad {
		if e, ok := l.handle(m.Data); ok {
			t.Errorf("malformed % x emitted %+v", m.Data, e)
		}
	}
	if st := l.Stats(); st.Malformed != 2 || st.Other != 1 || st.Messages != 3 {
		t.Errorf("stats %+v, want 2 malformed, 1 other, 3 messages", st)
	}
}

// The clock offsets are measured again a second after the last measure,
// not for every read of the socket (four system calls each).
func TestRefreshClockOncePerSecond(t *testing.T) {
	l := fixtureListener(t)
	set := clockOffsets{bootMinusMono: 42, realMinusMono: 42}
	l.offsets, l.clockAt = set, time.Now()
	if err := l.refreshClock(); err != nil {
		t.Fatal(err)
	}
	if l.offsets != set {
		t.Errorf("offsets measured again right after a measure: %+v", l.offsets)
	}
	l.clockAt = time.Now().Add(-clockRecheck)
	if err := l.refreshClock(); err != nil {
		t.Fatal(err)
	}
	if l.offsets == set {
		t.Error("offsets not measured again a second after the last measure")
	}
}
