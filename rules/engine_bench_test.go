package rules

import (
	"fmt"
	"testing"
	"time"
)

// busyHostStream is a mixed stream like a busy host's: execs by non-apt
// parents, connects to public addresses from processes whose parent has no
// pending sequence (they pass the event-2 filter and miss the table), and
// connects to local addresses, plus one apt shell that stays pending.
func busyHostStream(n int) []*Event {
	evs := make([]*Event, 0, n)
	for i := range n {
		at := time.Duration(i) * time.Microsecond
		var ev *Event
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			ev = shellExec("h1", fmt.Sprint("proc", i), at)
			ev.Process.Parent.Name = "systemd"
		case 5:
			ev = shellExec("h1", fmt.Sprint("proc", i), at)
			ev.Process.Name, ev.Process.Args = "python3", []string{"python3", "-c", "pass"}
		case 6, 7, 8:
			ev = connectFrom("h1", fmt.Sprint("proc", i-1), "2001:4860:4860::8888", at)
		case 9:
			ev = connectFrom("h1", fmt.Sprint("proc", i-1), "127.0.0.1", at)
		}
		evs = append(evs, ev)
	}
	return evs
}

// BenchmarkEngineBusyHost reports the cost per event of a stream in which
// nothing matches.
func BenchmarkEngineBusyHost(b *testing.B) {
	e := newAptEngine(b, EngineConfig{})
	e.Process(shellExec("h1", "pending-shell", 0))
	evs := busyHostStream(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if m := e.Process(evs[i%len(evs)]); m != nil {
			b.Fatalf("unexpected match %+v", m)
		}
		i++
	}
}

// BenchmarkEngineMatch reports the cost of one full match: the shell exec
// that starts the sequence and the connect that completes it.
func BenchmarkEngineMatch(b *testing.B) {
	e := newAptEngine(b, EngineConfig{})
	shell := shellExec("h1", "shell", 0)
	conn := connectFrom("h1", "shell", "8.8.8.8", time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		shell.Time = shell.Time.Add(time.Second)
		conn.Time = shell.Time.Add(time.Millisecond)
		e.Process(shell)
		if m := e.Process(conn); len(m) != 1 {
			b.Fatalf("%d matches, want 1", len(m))
		}
	}
}

// noMatchStream is events no shipped rule can match: execs by non-apt
// parents, forks, exits and file events.
func noMatchStream(n int) []*Event {
	evs := make([]*Event, 0, n)
	for i := range n {
		ev := shellExec("h1", fmt.Sprint("proc", i), time.Duration(i)*time.Microsecond)
		switch i % 4 {
		case 0:
			ev.Process.Parent.Name = "systemd"
		case 1:
			ev.Process.Parent.Name, ev.Process.Name = "cron", "python3"
		case 2:
			ev.Action = ActionEnd
		case 3:
			ev.Action, ev.File.Path = ActionCreation, "/tmp/x"
		}
		evs = append(evs, ev)
	}
	return evs
}

// shippedEngine is an engine running the shipped rule set.
func shippedEngine(tb testing.TB) *Engine {
	tb.Helper()
	set, err := Load(LoadConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewEngine(set.Enabled(), EngineConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkEngineNoMatch is the cost, with the shipped rule set, of an
// event no rule can match (target: <= 100 ns, 0 allocations).
func BenchmarkEngineNoMatch(b *testing.B) {
	e := shippedEngine(b)
	e.Process(shellExec("h1", "pending-shell", 0))
	evs := noMatchStream(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if m := e.Process(evs[i%len(evs)]); m != nil {
			b.Fatalf("unexpected match %+v", m)
		}
		i++
	}
}

// BenchmarkEngineMatchingStep is the cost of one step that matches: a hook
// shell's exec that (re)starts a pending sequence (target: <= 2 µs).
func BenchmarkEngineMatchingStep(b *testing.B) {
	e := newAptEngine(b, EngineConfig{})
	shell := shellExec("h1", "shell", 0)
	b.ReportAllocs()
	for b.Loop() {
		shell.Time = shell.Time.Add(time.Millisecond)
		e.Process(shell)
	}
	if s := e.Stats(); s.Pending != 1 {
		b.Fatalf("stats %+v", s)
	}
}
