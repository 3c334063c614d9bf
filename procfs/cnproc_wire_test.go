package procfs

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestCnMsgRoundTrip(t *testing.T) {
	tests := []cnMsg{
		{Idx: cnIdxProc, Val: cnValProc, Seq: 7, Ack: 8, Data: []byte{1, 0, 0, 0}},
		{Idx: 3, Val: 1, Flags: 0xbeef, Data: []byte{}},
	}
	for _, want := range tests {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got cnMsg
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}
	}
}

func TestCnMsgIgnoresPaddingAndRefusesBadLength(t *testing.T) {
	b, _ := cnMsg{Idx: 1, Val: 1, Data: []byte{9, 9}}.MarshalBinary()
	var m cnMsg
	if err := m.UnmarshalBinary(append(b, 0, 0)); err != nil || !bytes.Equal(m.Data, []byte{9, 9}) {
		t.Errorf("padded: %+v, %v; want data 9 9", m, err)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"short header", b[:19], "want at least 20"},
		{"len beyond data", b[:21], "len field 2 exceeds the 1 bytes"},
	}
	for _, tt := range tests {
		if err := m.UnmarshalBinary(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := (cnMsg{Data: make([]byte, 1<<16)}).MarshalBinary(); err == nil {
		t.Error("marshal of 64 KiB data succeeded, want an error")
	}
}

// TestMcastRequestBytes pins the exact bytes of a LISTEN request: cb_id
// {1, 1}, seq, ack, len 4, flags 0, then the op.
func TestMcastRequestBytes(t *testing.T) {
	b, err := mcastRequest(mcastListen, 5, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 24)
	ne := binary.NativeEndian
	ne.PutUint32(want[0:], 1)
	ne.PutUint32(want[4:], 1)
	ne.PutUint32(want[8:], 5)
	ne.PutUint32(want[12:], 6)
	ne.PutUint16(want[16:], 4)
	ne.PutUint32(want[20:], 1)
	if !bytes.Equal(b, want) {
		t.Errorf("LISTEN request = % x, want % x", b, want)
	}
}

func sampleEvents() []procEvent {
	var fork, exec, exitOld, exitNew, comm, ack, uid procEvent
	fork.What, fork.CPU, fork.TimestampNS = eventFork, 3, 123456789
	fork.Fork.ParentPID, fork.Fork.ParentTGID, fork.Fork.ChildPID, fork.Fork.ChildTGID = 11, 10, 20, 20
	exec.What, exec.TimestampNS = eventExec, 1
	exec.Exec.PID, exec.Exec.TGID = 20, 20
	exitOld.What = eventExit
	exitOld.Exit.PID, exitOld.Exit.TGID, exitOld.Exit.ExitCode, exitOld.Exit.ExitSignal = 20, 20, 256, 17
	exitNew = exitOld
	exitNew.Exit.ParentPID, exitNew.Exit.ParentTGID = 10, 10
	comm.What = eventComm
	comm.Comm.PID, comm.Comm.TGID = 20, 20
	copy(comm.Comm.Comm[:], "apt")
	ack.What, ack.AckErr = eventNone, 1
	uid.What = 0x4 // PROC_EVENT_UID: header only
	return []procEvent{fork, exec, exitOld, exitNew, comm, ack, uid}
}

func TestProcEventRoundTrip(t *testing.T) {
	for _, want := range sampleEvents() {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got procEvent
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%#x: %v", uint32(want.What), err)
		}
		if got != want {
			t.Errorf("round trip %#x: got %+v, want %+v", uint32(want.What), got, want)
		}
		// The kernel sends the whole union (40 bytes on 6.x) whatever the
		// type: zero padding after the member must decode the same.
		padded := append(b, make([]byte, 40-len(b))...)
		if err := got.UnmarshalBinary(padded); err != nil || got != want {
			t.Errorf("padded %#x: got %+v, %v; want %+v", uint32(want.What), got, err, want)
		}
	}
}

func TestProcEventRefusesShortInput(t *testing.T) {
	for _, ev := range sampleEvents() {
		b, _ := ev.MarshalBinary()
		for n := 0; n < len(b); n++ {
			if n >= procEventHeaderLen && n-procEventHeaderLen >= minEventDataLen(ev.What) {
				continue // long enough (exit without parent fields)
			}
			var got procEvent
			if err := got.UnmarshalBinary(b[:n]); err == nil {
				t.Errorf("%#x truncated to %d bytes: no error", uint32(ev.What), n)
			}
		}
	}
}

// TestProcEventFromKernelBytes decodes a fork message laid out as this 6.18
// kernel sends it: netlink length 76 (as observed), so a 60-byte payload of
// a 20-byte cn_msg and a 40-byte proc_event.
func TestProcEventFromKernelBytes(t *testing.T) {
	ne := binary.NativeEndian
	b := make([]byte, 60)
	ne.PutUint32(b[0:], 1)
	ne.PutUint32(b[4:], 1)
	ne.PutUint32(b[8:], 339) // per-CPU sequence
	ne.PutUint16(b[16:], 40)
	ne.PutUint32(b[20:], 1)                 // what: FORK
	ne.PutUint32(b[24:], 2)                 // cpu
	ne.PutUint64(b[28:], 1_234_567_890_123) // timestamp_ns
	for i, v := range []uint32{100, 100, 200, 200} {
		ne.PutUint32(b[36+4*i:], v)
	}
	ev, cn, ok, err := parseConnectorMessage(b)
	if err != nil || !ok {
		t.Fatalf("parse: ok %v, %v", ok, err)
	}
	if cn.Seq != 339 || ev.What != eventFork || ev.CPU != 2 || ev.TimestampNS != 1_234_567_890_123 ||
		ev.Fork.ParentTGID != 100 || ev.Fork.ChildPID != 200 || ev.Fork.ChildTGID != 200 {
		t.Errorf("parsed %+v, cn %+v", ev, cn)
	}
	ne.PutUint32(b[0:], 3) // another connector user (CN_W1_IDX)
	if _, _, ok, err := parseConnectorMessage(b); ok || err != nil {
		t.Errorf("foreign connector message: ok %v, err %v; want ignored", ok, err)
	}
}

func TestCommString(t *testing.T) {
	var full [commSize]byte
	copy(full[:], "0123456789abcdef")
	var short [commSize]byte
	copy(short[:], "apt")
	if got := commString(full); got != "0123456789abcdef" {
		t.Errorf("full comm = %q", got)
	}
	if got := commString(short); got != "apt" {
		t.Errorf("short comm = %q", got)
	}
}

func FuzzParseConnectorMessage(f *testing.F) {
	for _, ev := range sampleEvents() {
		data, _ := ev.MarshalBinary()
		b, _ := cnMsg{Idx: 1, Val: 1, Data: data}.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, _, ok, err := parseConnectorMessage(b)
		if err != nil || !ok {
			return
		}
		// Whatever decodes must survive a round trip (for the types decoded
		// and with a non-zero exit parent, the encoding is canonical).
		enc, err := ev.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again procEvent
		if err := again.UnmarshalBinary(enc); err != nil || again != ev {
			t.Errorf("re-decode of %+v gave %+v, %v", ev, again, err)
		}
	})
}
