package procfs

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

func TestNextMessageSplitsAConnectorDatagram(t *testing.T) {
	var fork, exit procEvent
	fork.What, fork.Fork.ParentPID, fork.Fork.ParentTGID, fork.Fork.ChildPID, fork.Fork.ChildTGID = eventFork, 1, 1, 7, 7
	exit.What, exit.Exit.PID, exit.Exit.TGID = eventExit, 7, 7
	var dgram []byte
	for _, ev := range []procEvent{fork, exit} {
		dgram = mmsg.AppendMessage(dgram, unix.NLMSG_DONE, 0, 0, connectorMessage(t, ev).Data) // as cn_proc sends
	}
	var got []procEvent
	for b := dgram; len(b) > 0; {
		_, payload, rest, err := mmsg.NextMessage(b)
		if err != nil {
			t.Fatalf("NextMessage: %v", err)
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
