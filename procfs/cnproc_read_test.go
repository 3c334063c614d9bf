package procfs

import (
	"encoding/binary"
	"testing"
)

// nlmsg wraps payload in a netlink header as the kernel does, padded to 4
// bytes.
func nlmsg(payload []byte) []byte {
	b := make([]byte, nlmsgHeaderLen, nlmsgAlign(nlmsgHeaderLen+len(payload)))
	binary.NativeEndian.PutUint32(b, uint32(nlmsgHeaderLen+len(payload)))
	binary.NativeEndian.PutUint16(b[4:], 3) // NLMSG_DONE, as cn_proc sends
	b = append(b, payload...)
	return b[:cap(b)]
}

func TestNextMessageSplitsADatagram(t *testing.T) {
	var fork, exit procEvent
	fork.What, fork.Fork.ParentPID, fork.Fork.ParentTGID, fork.Fork.ChildPID, fork.Fork.ChildTGID = eventFork, 1, 1, 7, 7
	exit.What, exit.Exit.PID, exit.Exit.TGID = eventExit, 7, 7
	var dgram []byte
	for _, ev := range []procEvent{fork, exit} {
		dgram = append(dgram, nlmsg(connectorMessage(t, ev).Data)...)
	}
	var got []procEvent
	for b := dgram; len(b) > 0; {
		payload, rest, err := nextMessage(b)
		if err != nil {
			t.Fatalf("nextMessage: %v", err)
		}
		b = rest
		ev, _, ok, err := parseConnectorMessage(payload)
		if !ok || err != nil {
			t.Fatalf("message %d: ok %v, %v", len(got), ok, err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0] != fork || got[1] != exit {
		t.Errorf("got %+v, want the fork and the exit", got)
	}
}

func TestNextMessageSkipsPadding(t *testing.T) {
	dgram := append(nlmsg([]byte("abc")), nlmsg([]byte("defgh"))...)
	var got []string
	for b := dgram; len(b) > 0; {
		payload, rest, err := nextMessage(b)
		if err != nil {
			t.Fatalf("nextMessage: %v", err)
		}
		got, b = append(got, string(payload)), rest
	}
	if len(got) != 2 || got[0] != "abc" || got[1] != "defgh" {
		t.Errorf("payloads %q, want abc and defgh", got)
	}
}

func TestNextMessageRefusesBadLengths(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":  make([]byte, 10),
		"len too small": func() []byte { b := make([]byte, 20); binary.NativeEndian.PutUint32(b, 8); return b }(),
		"len past end":  func() []byte { b := make([]byte, 20); binary.NativeEndian.PutUint32(b, 64); return b }(),
	} {
		if _, _, err := nextMessage(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzNextMessage: any bytes split without panic, and every split makes
// progress, so a datagram loop ends.
func FuzzNextMessage(f *testing.F) {
	f.Add(nlmsg([]byte("abc")))
	f.Add(append(nlmsg([]byte{1, 2, 3, 4, 5}), nlmsg(nil)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			payload, rest, err := nextMessage(b)
			if err != nil {
				return
			}
			if len(rest) >= len(b) || len(payload) > len(b) {
				t.Fatalf("no progress: %d bytes, rest %d", len(b), len(rest))
			}
			b = rest
		}
	})
}
