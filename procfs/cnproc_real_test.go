package procfs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// startListener subscribes to the real proc connector and runs the listener
// until the test ends. Events go to the returned channel.
func startListener(t *testing.T) (*Listener, <-chan Event) {
	t.Helper()
	testenv.RequireRoot(t) // the proc connector needs CAP_NET_ADMIN
	fs := realFS(t)
	l, err := Listen(fs, ListenConfig{})
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		testenv.SkipKernelFeature(t, "the proc connector (CONFIG_PROC_EVENTS)", "socket(AF_NETLINK, NETLINK_CONNECTOR)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.Run(ctx, func(e Event) { events <- e }); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l, events
}

// collect gathers events until done says it has seen enough, or fails the
// test after a timeout.
func collect(t *testing.T, events <-chan Event, done func([]Event) bool) []Event {
	t.Helper()
	var got []Event
	timeout := time.After(10 * time.Second)
	for !done(got) {
		select {
		case e := <-events:
			got = append(got, e)
		case <-timeout:
			t.Fatalf("timed out after %d events", len(got))
		}
	}
	return got
}

func forkOf(events []Event, child int) (Fork, bool) {
	for _, e := range events {
		if f, ok := e.(Fork); ok && f.ChildPID == child {
			return f, true
		}
	}
	return Fork{}, false
}

func childrenOf(events []Event, parent int) []Fork {
	var out []Fork
	for _, e := range events {
		if f, ok := e.(Fork); ok && f.ParentPID == parent {
			out = append(out, f)
		}
	}
	return out
}

func exited(events []Event, pid int) (Exit, bool) {
	for _, e := range events {
		if x, ok := e.(Exit); ok && x.PID == pid {
			return x, true
		}
	}
	return Exit{}, false
}

func execed(events []Event, pid int) bool {
	for _, e := range events {
		if x, ok := e.(Exec); ok && x.PID == pid {
			return true
		}
	}
	return false
}

// TestRealConnectorShellAndBackgroundChild runs sh -c 'sleep 0.1 & wait' and
// expects fork, exec and exit of both the shell and the sleep.
func TestRealConnectorShellAndBackgroundChild(t *testing.T) {
	l, events := startListener(t)
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.1 & wait")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	sh := cmd.Process.Pid
	got := collect(t, events, func(ev []Event) bool {
		kids := childrenOf(ev, sh)
		if len(kids) == 0 {
			return false
		}
		_, shDone := exited(ev, sh)
		_, sleepDone := exited(ev, kids[0].ChildPID)
		return shDone && sleepDone
	})

	shFork, ok := forkOf(got, sh)
	if !ok || shFork.ParentPID != os.Getpid() {
		t.Errorf("fork of sh %d: %+v (found %v), want parent %d", sh, shFork, ok, os.Getpid())
	}
	if !execed(got, sh) {
		t.Errorf("no exec event for sh %d", sh)
	}
	kids := childrenOf(got, sh)
	if len(kids) != 1 {
		t.Fatalf("sh forked %d children, want 1 (sleep): %+v", len(kids), kids)
	}
	sleep := kids[0]
	if !execed(got, sleep.ChildPID) {
		t.Errorf("no exec event for sleep %d", sleep.ChildPID)
	}
	if sleep.StatRead && sleep.Child.PPID != sh {
		t.Errorf("sleep read from /proc with ppid %d, want %d", sleep.Child.PPID, sh)
	}
	if x, _ := exited(got, sh); x.ExitCode != 0 || x.ParentPID != os.Getpid() {
		t.Errorf("sh exit = %+v, want code 0, parent %d", x, os.Getpid())
	}
	if x, _ := exited(got, sleep.ChildPID); x.ParentPID != sh {
		t.Errorf("sleep exit = %+v, want parent %d", x, sh)
	}
	// The events are recent: wall time within a minute of now.
	if d := time.Since(shFork.Time); d < 0 || d > time.Minute {
		t.Errorf("fork time %v is %v from now", shFork.Time, d)
	}
	st := l.Stats()
	if st.Forks < 2 || st.Execs < 2 || st.Exits < 2 || st.Messages < st.Forks+st.Execs+st.Exits {
		t.Errorf("stats %+v: want at least 2 forks, execs, exits", st)
	}
}

// TestRealConnectorForkWithoutExec checks that a fork that never execs (a
// subshell, like apt's hook runner) is reported with its parent's comm.
func TestRealConnectorForkWithoutExec(t *testing.T) {
	_, events := startListener(t)
	cmd := exec.Command("/bin/sh", "-c", "( sleep 0.2; true ) ; true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	sh := cmd.Process.Pid
	got := collect(t, events, func(ev []Event) bool {
		_, done := exited(ev, sh)
		return done
	})
	kids := childrenOf(got, sh)
	if len(kids) != 1 {
		t.Fatalf("sh forked %d children, want 1 (the subshell): %+v", len(kids), kids)
	}
	sub := kids[0]
	if sub.Child.PPID != sh || sub.Child.StartTime == 0 {
		t.Errorf("subshell fork = %+v, want ppid %d and a start time", sub, sh)
	}
	if execed(got, sub.ChildPID) {
		t.Errorf("subshell %d exec'd", sub.ChildPID)
	}
	if grandkids := childrenOf(got, sub.ChildPID); len(grandkids) != 1 || !execed(got, grandkids[0].ChildPID) {
		t.Errorf("subshell children %+v: want one that execs sleep", grandkids)
	}
}

// TestRealConnectorStartTimesMatchProc checks the forks' StartTime against
// a later read of /proc: 100 children that live on, forked in a burst. A
// start computed from the fork's stamp is the exact one unless the kernel
// was held up between setting it and stamping the event; near a tick
// boundary the listener reads /proc instead. So nearly all are equal,
// none is more than a tick off, and only about one in ten was read.
func TestRealConnectorStartTimesMatchProc(t *testing.T) {
	l, events := startListener(t)
	const n = 100
	var pids []int
	for range n {
		cmd := exec.Command("/bin/sleep", "10")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	got := collect(t, events, func(ev []Event) bool {
		_, ok := forkOf(ev, pids[n-1])
		return ok
	})
	equal, read := 0, 0
	for _, pid := range pids {
		f, ok := forkOf(got, pid)
		if !ok {
			t.Fatalf("no fork of pid %d", pid)
		}
		later, err := realFS(t).Proc(pid).Stat()
		if err != nil {
			t.Fatal(err)
		}
		if f.Child.StartTime == later.StartTime {
			equal++
		} else if !SameStart(f.Child.StartTime, later.StartTime) || f.StatRead {
			t.Errorf("pid %d: fork start %d (read %v), /proc now says %d", pid, f.Child.StartTime, f.StatRead, later.StartTime)
		}
		if f.StatRead {
			read++
		}
	}
	t.Logf("%d of %d equal, %d read from /proc, stats %+v", equal, n, read, l.Stats())
	if equal < n*98/100 {
		t.Errorf("%d of %d fork start times equal /proc's, want at least 98%%", equal, n)
	}
	if read > n*40/100 {
		t.Errorf("%d of %d forks read /proc, want about one in ten", read, n)
	}
}

// TestRealConnectorOverrunsAreCounted fills a tiny receive buffer while Run
// is not reading and checks the loss is counted, not silent.
func TestRealConnectorOverrunsAreCounted(t *testing.T) {
	testenv.RequireRoot(t) // the proc connector needs CAP_NET_ADMIN
	l, err := Listen(realFS(t), ListenConfig{ReceiveBuffer: 4096, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 100 {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := l.Run(ctx, func(Event) {}); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Overruns == 0 {
		t.Errorf("stats %+v: 300 events into a 4 KiB buffer, want an overrun counted", st)
	}
}

// A Drain after a child has run hands on its fork without waiting: the
// kernel queues the fork before the child runs. It is what lets the sensor
// read the connector from the audit socket's reads (Reader, Drain) and
// still apply a process's fork before its audit events.
func TestDrainAfterTheChildRanHasItsFork(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := Listen(realFS(t), ListenConfig{})
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		testenv.SkipKernelFeature(t, "the proc connector (CONFIG_PROC_EVENTS)", "socket(AF_NETLINK, NETLINK_CONNECTOR)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []Event
	collect := func(evs []Event) { got = append(got, evs...) }
	for i := range 20 {
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		if err := l.Drain(collect); err != nil {
			t.Fatal(err)
		}
		if _, ok := forkOf(got, cmd.Process.Pid); !ok {
			t.Fatalf("run %d: Drain after the child exited has no fork of pid %d (%d events)", i, cmd.Process.Pid, len(got))
		}
	}
	// An empty socket: Drain returns at once with nothing.
	got = nil
	start := time.Now()
	if err := l.Drain(collect); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Drain of a quiet socket took %v", d)
	}
}
