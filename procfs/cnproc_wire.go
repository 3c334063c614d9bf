package procfs

import (
	"encoding/binary"
	"fmt"
)

// The proc connector's wire format: a struct cn_msg (include/uapi/linux/
// connector.h) carrying one struct proc_event (include/uapi/linux/cn_proc.h),
// both in the host's byte order, inside a netlink message the kernel sends
// with type NLMSG_DONE (drivers/connector/connector.c, cn_netlink_send_mult).
// This file is the only place that knows byte offsets.

// Connector addresses from include/uapi/linux/connector.h.
const (
	cnIdxProc = 1 // CN_IDX_PROC, also the netlink multicast group to join
	cnValProc = 1 // CN_VAL_PROC
)

// Multicast control operations (enum proc_cn_mcast_op).
const (
	mcastListen = 1 // PROC_CN_MCAST_LISTEN
	mcastIgnore = 2 // PROC_CN_MCAST_IGNORE
)

// cnMsgHeaderLen is sizeof(struct cn_msg) without its data.
const cnMsgHeaderLen = 20

// cnMsg is struct cn_msg.
type cnMsg struct {
	Idx, Val uint32 // struct cb_id
	Seq, Ack uint32
	Flags    uint16
	// Data is the payload; its length is the header's len field. After
	// UnmarshalBinary it aliases the input.
	Data []byte
}

// MarshalBinary encodes m; the len field is len(m.Data).
func (m cnMsg) MarshalBinary() ([]byte, error) {
	if len(m.Data) > 0xffff {
		return nil, fmt.Errorf("cn_msg: data of %d bytes exceeds the 16-bit length", len(m.Data))
	}
	b := make([]byte, cnMsgHeaderLen+len(m.Data))
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], m.Idx)
	ne.PutUint32(b[4:], m.Val)
	ne.PutUint32(b[8:], m.Seq)
	ne.PutUint32(b[12:], m.Ack)
	ne.PutUint16(b[16:], uint16(len(m.Data)))
	ne.PutUint16(b[18:], m.Flags)
	copy(b[cnMsgHeaderLen:], m.Data)
	return b, nil
}

// UnmarshalBinary decodes a cn_msg. Bytes after the len field's end are
// netlink alignment padding and are ignored.
func (m *cnMsg) UnmarshalBinary(b []byte) error {
	if len(b) < cnMsgHeaderLen {
		return fmt.Errorf("cn_msg: %d bytes, want at least %d", len(b), cnMsgHeaderLen)
	}
	ne := binary.NativeEndian
	n := int(ne.Uint16(b[16:]))
	if n > len(b)-cnMsgHeaderLen {
		return fmt.Errorf("cn_msg: len field %d exceeds the %d bytes after the header", n, len(b)-cnMsgHeaderLen)
	}
	*m = cnMsg{
		Idx:   ne.Uint32(b[0:]),
		Val:   ne.Uint32(b[4:]),
		Seq:   ne.Uint32(b[8:]),
		Ack:   ne.Uint32(b[12:]),
		Flags: ne.Uint16(b[18:]),
		Data:  b[cnMsgHeaderLen : cnMsgHeaderLen+n],
	}
	return nil
}

// mcastRequest is the cn_msg that turns event delivery on or off for the
// sender. The 4-byte form (a bare enum proc_cn_mcast_op) is understood by
// every kernel; 6.6 added an 8-byte struct proc_input with an event filter
// (cn_proc_mcast_ctl in drivers/connector/cn_proc.c accepts both).
func mcastRequest(op, seq, ack uint32) ([]byte, error) {
	data := make([]byte, 4)
	binary.NativeEndian.PutUint32(data, op)
	return cnMsg{Idx: cnIdxProc, Val: cnValProc, Seq: seq, Ack: ack, Data: data}.MarshalBinary()
}

// eventType is enum what of struct proc_event.
type eventType uint32

// Event types the sensor decodes. UID, GID, SID, PTRACE and COREDUMP events
// arrive too (the 4-byte LISTEN asks for everything) and are counted, not
// decoded.
const (
	eventNone eventType = 0x00000000 // PROC_EVENT_NONE: the reply to a LISTEN/IGNORE
	eventFork eventType = 0x00000001 // PROC_EVENT_FORK
	eventExec eventType = 0x00000002 // PROC_EVENT_EXEC
	eventComm eventType = 0x00000200 // PROC_EVENT_COMM
	eventExit eventType = 0x80000000 // PROC_EVENT_EXIT
)

// procEventHeaderLen is the size of what, cpu and timestamp_ns (the u64 is
// 8-aligned, so the union starts at 16 on every ABI).
const procEventHeaderLen = 16

// Union member sizes. The kernel sends sizeof(struct proc_event) whatever the
// type (the union's largest member decides it), so a message is usually
// longer than its member; it is never shorter.
const (
	ackLen        = 4  // ack.err
	forkLen       = 16 // fork: parent_pid, parent_tgid, child_pid, child_tgid
	execLen       = 8  // exec: process_pid, process_tgid
	exitLen       = 16 // exit: process_pid, process_tgid, exit_code, exit_signal
	exitParentLen = 24 // exit with parent_pid, parent_tgid (absent in 3.16)
	commLen       = 24 // comm: process_pid, process_tgid, comm[16]
	commSize      = 16 // TASK_COMM_LEN
)

// procEvent is struct proc_event. Only the union member named by What is
// meaningful.
type procEvent struct {
	What        eventType
	CPU         uint32
	TimestampNS uint64 // CLOCK_MONOTONIC (ktime_get_ns) when the event fired

	AckErr uint32 // ack.err: 0 or a positive errno
	Fork   struct{ ParentPID, ParentTGID, ChildPID, ChildTGID int32 }
	Exec   struct{ PID, TGID int32 }
	Exit   struct {
		PID, TGID            int32
		ExitCode, ExitSignal uint32
		// ParentPID and ParentTGID are 0 when the kernel predates them (or,
		// on such a kernel, the bytes are the union's zero padding): no
		// exiting task has pid 0 as its parent.
		ParentPID, ParentTGID int32
	}
	Comm struct {
		PID, TGID int32
		Comm      [commSize]byte
	}
}

// MarshalBinary encodes e with only its union member's bytes, so that
// UnmarshalBinary gives e back.
func (e procEvent) MarshalBinary() ([]byte, error) {
	ne := binary.NativeEndian
	b := make([]byte, procEventHeaderLen, procEventHeaderLen+exitParentLen)
	ne.PutUint32(b[0:], uint32(e.What))
	ne.PutUint32(b[4:], e.CPU)
	ne.PutUint64(b[8:], e.TimestampNS)
	u32 := func(v uint32) { b = ne.AppendUint32(b, v) }
	switch e.What {
	case eventNone:
		u32(e.AckErr)
	case eventFork:
		u32(uint32(e.Fork.ParentPID))
		u32(uint32(e.Fork.ParentTGID))
		u32(uint32(e.Fork.ChildPID))
		u32(uint32(e.Fork.ChildTGID))
	case eventExec:
		u32(uint32(e.Exec.PID))
		u32(uint32(e.Exec.TGID))
	case eventExit:
		u32(uint32(e.Exit.PID))
		u32(uint32(e.Exit.TGID))
		u32(e.Exit.ExitCode)
		u32(e.Exit.ExitSignal)
		if e.Exit.ParentPID != 0 || e.Exit.ParentTGID != 0 {
			u32(uint32(e.Exit.ParentPID))
			u32(uint32(e.Exit.ParentTGID))
		}
	case eventComm:
		u32(uint32(e.Comm.PID))
		u32(uint32(e.Comm.TGID))
		b = append(b, e.Comm.Comm[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a proc_event. A payload too short for the member
// its type names is an error; types the sensor does not decode keep only the
// header.
func (e *procEvent) UnmarshalBinary(b []byte) error {
	if len(b) < procEventHeaderLen {
		return fmt.Errorf("proc_event: %d bytes, want at least %d", len(b), procEventHeaderLen)
	}
	ne := binary.NativeEndian
	*e = procEvent{
		What:        eventType(ne.Uint32(b[0:])),
		CPU:         ne.Uint32(b[4:]),
		TimestampNS: ne.Uint64(b[8:]),
	}
	u := b[procEventHeaderLen:]
	if need := minEventDataLen(e.What); len(u) < need {
		return fmt.Errorf("proc_event: type %#x: %d bytes of event data, want at least %d", uint32(e.What), len(u), need)
	}
	i32 := func(off int) int32 { return int32(ne.Uint32(u[off:])) }
	switch e.What {
	case eventNone:
		e.AckErr = ne.Uint32(u)
	case eventFork:
		e.Fork.ParentPID, e.Fork.ParentTGID = i32(0), i32(4)
		e.Fork.ChildPID, e.Fork.ChildTGID = i32(8), i32(12)
	case eventExec:
		e.Exec.PID, e.Exec.TGID = i32(0), i32(4)
	case eventExit:
		e.Exit.PID, e.Exit.TGID = i32(0), i32(4)
		e.Exit.ExitCode, e.Exit.ExitSignal = ne.Uint32(u[8:]), ne.Uint32(u[12:])
		if len(u) >= exitParentLen {
			e.Exit.ParentPID, e.Exit.ParentTGID = i32(16), i32(20)
		}
	case eventComm:
		e.Comm.PID, e.Comm.TGID = i32(0), i32(4)
		copy(e.Comm.Comm[:], u[8:commLen])
	}
	return nil
}

// minEventDataLen is the union member size of an event type (0 for types
// that are not decoded).
func minEventDataLen(what eventType) int {
	switch what {
	case eventNone:
		return ackLen
	case eventFork:
		return forkLen
	case eventExec:
		return execLen
	case eventExit:
		return exitLen
	case eventComm:
		return commLen
	}
	return 0
}

// parseConnectorMessage decodes the payload of one netlink message from the
// proc connector. ok is false for a connector message addressed to another
// connector user (the socket only joined CN_IDX_PROC, so this is defence).
func parseConnectorMessage(b []byte) (ev procEvent, cn cnMsg, ok bool, err error) {
	if err := cn.UnmarshalBinary(b); err != nil {
		return procEvent{}, cnMsg{}, false, err
	}
	if cn.Idx != cnIdxProc || cn.Val != cnValProc {
		return procEvent{}, cn, false, nil
	}
	if err := ev.UnmarshalBinary(cn.Data); err != nil {
		return procEvent{}, cn, false, err
	}
	return ev, cn, true, nil
}

// commString returns a kernel comm[16] up to its first NUL.
func commString(c [commSize]byte) string {
	for i, ch := range c {
		if ch == 0 {
			return string(c[:i])
		}
	}
	return string(c[:])
}
