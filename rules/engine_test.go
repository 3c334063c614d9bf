package rules

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// feed processes events in order and returns all matches.
func feed(e *Engine, evs ...*Event) []Match {
	var out []Match
	for _, ev := range evs {
		out = append(out, e.Process(ev)...)
	}
	return out
}

func TestEngineMaxSpanBoundary(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		want  bool
	}{
		{"same instant", 0, true},
		{"1ms", time.Millisecond, true},
		{"exactly maxspan", 5 * time.Second, true},
		{"maxspan + 1ns", 5*time.Second + time.Nanosecond, false},
		{"10s", 10 * time.Second, false},
		{"1ns before the shell", -time.Nanosecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAptEngine(t, EngineConfig{})
			got := feed(e, shellExec("h1", "shell", 0), connectFrom("h1", "shell", "8.8.8.8", tt.delay))
			if (len(got) == 1) != tt.want || len(got) > 1 {
				t.Fatalf("connect %v after the shell: %d matches, want match=%v", tt.delay, len(got), tt.want)
			}
			if tt.want {
				m := got[0]
				if m.Rule.ID != AptNetconID || len(m.Events) != 2 ||
					m.Events[0].Action != ActionExec || m.Events[1].Action != ActionConnectionAttempt {
					t.Fatalf("match = %+v, want rule %s with [exec, connect]", m, AptNetconID)
				}
			}
			checkAccounting(t, e)
		})
	}
}

// TestEngineReplacement: a newer first event for the same key replaces the
// pending sequence and restarts its clock.
func TestEngineReplacement(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	got := feed(e,
		shellExec("h1", "shell", 0),
		shellExec("h1", "shell", 3*time.Second),              // replaces: clock restarts at 3s
		connectFrom("h1", "shell", "8.8.8.8", 7*time.Second), // 7s after the first, 4s after the second
	)
	if len(got) != 1 {
		t.Fatalf("%d matches, want 1 (the replacing shell exec restarts maxspan)", len(got))
	}
	if at := got[0].Events[0].Time.Sub(t0); at != 3*time.Second {
		t.Errorf("matched first event at +%v, want the newer one at +3s", at)
	}
	if s := e.Stats(); s.Replaced != 1 || s.Started != 2 || s.Matches != 1 || s.Pending != 0 {
		t.Errorf("stats %+v, want started 2, replaced 1, matches 1, pending 0", s)
	}
	checkAccounting(t, e)
}

// TestEngineReplacementLateOlder: a first event that arrives late with an
// older timestamp does not displace the newer pending one.
func TestEngineReplacementLateOlder(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	got := feed(e,
		shellExec("h1", "shell", 3*time.Second),
		shellExec("h1", "shell", 0),
		connectFrom("h1", "shell", "8.8.8.8", 7*time.Second),
	)
	if len(got) != 1 || got[0].Events[0].Time != t0.Add(3*time.Second) {
		t.Fatalf("matches %+v, want one, from the exec at +3s", got)
	}
	if s := e.Stats(); s.Replaced != 1 {
		t.Errorf("Replaced = %d, want 1", s.Replaced)
	}
	checkAccounting(t, e)
}

// TestEngineOneAlertPerShell: a completed sequence clears its state.
func TestEngineOneAlertPerShell(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	steps := []struct {
		ev   *Event
		want int
	}{
		{shellExec("h1", "shell", 0), 0},
		{connectFrom("h1", "shell", "8.8.8.8", time.Second), 1},
		{connectFrom("h1", "shell", "1.1.1.1", 2*time.Second), 0}, // second child of the same shell
		{connectFrom("h1", "shell", "8.8.8.8", 3*time.Second), 0},
		{shellExec("h1", "shell", 4*time.Second), 0}, // a new first event for the key
		{connectFrom("h1", "shell", "8.8.8.8", 5*time.Second), 1},
	}
	for i, s := range steps {
		if got := e.Process(s.ev); len(got) != s.want {
			t.Fatalf("event %d (%s at +%v): %d matches, want %d", i, s.ev.Action, s.ev.Time.Sub(t0), len(got), s.want)
		}
	}
	if s := e.Stats(); s.Matches != 2 || s.Pending != 0 {
		t.Errorf("stats %+v, want 2 matches and nothing pending", s)
	}
	checkAccounting(t, e)
}

// TestEngineJoinKeys: only a connect whose parent is the shell joins it, on
// the same host.
func TestEngineJoinKeys(t *testing.T) {
	tests := []struct {
		name    string
		connect *Event
		want    int
	}{
		{"child of the shell", connectFrom("h1", "shell", "8.8.8.8", time.Second), 1},
		{"child of another shell", connectFrom("h1", "other-shell", "8.8.8.8", time.Second), 0},
		{"child of the shell on another host", connectFrom("h2", "shell", "8.8.8.8", time.Second), 0},
		{"the shell itself connects", func() *Event {
			ev := connectFrom("h1", "apt-fork", "8.8.8.8", time.Second)
			ev.Process.EntityID = "shell"
			return ev
		}(), 0},
		{"child of the shell, local destination", connectFrom("h1", "shell", "10.1.2.3", time.Second), 0},
		{"child of the shell, mapped loopback", connectFrom("h1", "shell", "::ffff:127.0.0.1", time.Second), 0},
		{"child of the shell, mapped public", connectFrom("h1", "shell", "::ffff:8.8.8.8", time.Second), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAptEngine(t, EngineConfig{})
			if got := feed(e, shellExec("h1", "shell", 0), tt.connect); len(got) != tt.want {
				t.Fatalf("%d matches, want %d", len(got), tt.want)
			}
		})
	}
}

// TestEngineHostsAreSeparate: the same entity ids on two hosts are two
// sequences.
func TestEngineHostsAreSeparate(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	got := feed(e,
		shellExec("h1", "shell", 0),
		shellExec("h2", "shell", 0),
		connectFrom("h2", "shell", "8.8.8.8", time.Second),
		connectFrom("h1", "shell", "8.8.8.8", time.Second),
	)
	if len(got) != 2 || got[0].Events[0].HostID != "h2" || got[1].Events[0].HostID != "h1" {
		t.Fatalf("matches %+v, want h2 then h1", got)
	}
	for _, m := range got {
		if m.Events[0].HostID != m.Events[1].HostID {
			t.Errorf("match joins hosts %s and %s", m.Events[0].HostID, m.Events[1].HostID)
		}
	}
}

func TestEngineExpire(t *testing.T) {
	e := newAptEngine(t, EngineConfig{Lateness: NoLateness})
	e.Process(shellExec("h1", "shell", 0))
	e.Expire(t0.Add(5 * time.Second)) // the connect may still come at exactly +5s
	if s := e.Stats(); s.Pending != 1 || s.Expired != 0 {
		t.Fatalf("after Expire(+5s): %+v, want 1 pending", s)
	}
	e.Expire(t0.Add(5*time.Second + time.Nanosecond))
	if s := e.Stats(); s.Pending != 0 || s.Expired != 1 {
		t.Fatalf("after Expire(+5s+1ns): %+v, want 0 pending, 1 expired", s)
	}
	// Gone for good, even for a connect whose own time is in span.
	if got := e.Process(connectFrom("h1", "shell", "8.8.8.8", time.Second)); len(got) != 0 {
		t.Fatalf("expired sequence matched: %+v", got)
	}
	checkAccounting(t, e)
}

// TestEngineLazyExpiry: event time moving past a deadline drops the pending
// sequence without an Expire call, and a late connect drops its own.
func TestEngineLazyExpiry(t *testing.T) {
	e := newAptEngine(t, EngineConfig{Lateness: NoLateness})
	e.Process(shellExec("h1", "a", 0))
	e.Process(shellExec("h1", "b", time.Second))
	e.Process(&Event{Time: t0.Add(5*time.Second + time.Millisecond), Action: ActionExec, HostID: "h1"})
	if s := e.Stats(); s.Pending != 1 || s.Expired != 1 {
		t.Fatalf("stats %+v, want a expired and b pending", s)
	}
	if got := e.Process(connectFrom("h1", "b", "8.8.8.8", 6*time.Second)); len(got) != 1 {
		t.Fatalf("b: %d matches, want 1", len(got))
	}
	checkAccounting(t, e)
}

func TestEngineBoundedTable(t *testing.T) {
	e := newAptEngine(t, EngineConfig{MaxPending: 3})
	for i := range 5 {
		e.Process(shellExec("h1", fmt.Sprint("shell", i), time.Duration(i)*time.Millisecond))
	}
	if s := e.Stats(); s.Pending != 3 || s.Evicted != 2 || s.Started != 5 {
		t.Fatalf("stats %+v, want 3 pending, 2 evicted of 5 started", s)
	}
	// The two oldest were dropped, the three newest still match.
	for i, want := range []int{0, 0, 1, 1, 1} {
		got := e.Process(connectFrom("h1", fmt.Sprint("shell", i), "8.8.8.8", time.Second))
		if len(got) != want {
			t.Errorf("shell%d: %d matches, want %d", i, len(got), want)
		}
	}
	checkAccounting(t, e)
}

func TestEngineUnkeyed(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	got := feed(e, shellExec("h1", "", 0), connectFrom("h1", "", "8.8.8.8", time.Second))
	if len(got) != 0 {
		t.Fatalf("events without entity ids joined: %+v", got)
	}
	if s := e.Stats(); s.Unkeyed != 2 || s.Pending != 0 || s.Started != 0 {
		t.Errorf("stats %+v, want 2 unkeyed, nothing started", s)
	}
}

// TestEngineMatchEventsAreCopies: the caller may reuse its argv buffers.
func TestEngineMatchEventsAreCopies(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	shell := shellExec("h1", "shell", 0)
	conn := connectFrom("h1", "shell", "8.8.8.8", time.Second)
	conn.Process.Parent.Args = []string{"sh", "-c", "hook"}
	e.Process(shell)
	shell.Process.Args[1] = "CHANGED"
	got := e.Process(conn)
	conn.Process.Args[0] = "CHANGED"
	conn.Process.Parent.Args[0] = "CHANGED"
	if len(got) != 1 {
		t.Fatalf("%d matches, want 1", len(got))
	}
	if got[0].Events[0].Process.Args[1] != "-c" || got[0].Events[1].Process.Args[0] != "curl" ||
		got[0].Events[1].Process.Parent.Args[0] != "sh" {
		t.Errorf("match shares argv with the input: %q %q %q", got[0].Events[0].Process.Args,
			got[0].Events[1].Process.Args, got[0].Events[1].Process.Parent.Args)
	}
}

func TestEngineNilEvent(t *testing.T) {
	e := newAptEngine(t, EngineConfig{})
	if got := e.Process(nil); got != nil {
		t.Fatalf("Process(nil) = %+v", got)
	}
}

func TestNewEngineRefusesBadRules(t *testing.T) {
	noQuery := AptNetcon()
	noQuery.Query = nil
	noID := AptNetcon()
	noID.ID = ""
	noName := AptNetcon()
	noName.Name = ""
	tests := []struct {
		name  string
		rules []*Rule
	}{
		{"nil rule", []*Rule{nil}},
		{"no query", []*Rule{noQuery}},
		{"no id", []*Rule{noID}},
		{"no name", []*Rule{noName}},
		{"duplicate", []*Rule{AptNetcon(), AptNetcon()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEngine(tt.rules, EngineConfig{})
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("NewEngine error = %v, want one wrapping ErrInvalidRule", err)
			}
		})
	}
	if _, err := NewEngine(nil, EngineConfig{MaxPending: -1}); err == nil {
		t.Error("NewEngine accepted MaxPending -1")
	}
}

// TestEngineThreeSteps runs a made-up three-step rule: maxspan counts from
// the first event and steps advance one at a time.
func TestEngineThreeSteps(t *testing.T) {
	r := testRule(t, `sequence by process.entity_id with maxspan=10s
		[any where event.action == "a"] [any where event.action == "b"] [any where event.action == "c"]`)
	ev := func(action, id string, at time.Duration) *Event {
		return &Event{Time: t0.Add(at), Action: action, HostID: "h", Process: Process{EntityID: id}}
	}
	e, err := NewEngine([]*Rule{r}, EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		ev   *Event
		want int
	}{
		{ev("c", "p", 0), 0}, // nothing waits for c
		{ev("a", "p", 0), 0},
		{ev("c", "p", time.Second), 0}, // c before b: no
		{ev("b", "p", 2*time.Second), 0},
		{ev("c", "q", 3*time.Second), 0}, // wrong key
		{ev("c", "p", 4*time.Second), 1},
		{ev("c", "p", 5*time.Second), 0}, // cleared
		{ev("a", "p", 20*time.Second), 0},
		{ev("b", "p", 25*time.Second), 0},
		{ev("c", "p", 30*time.Second+time.Nanosecond), 0}, // 10s+1ns after a
	}
	for i, s := range steps {
		got := e.Process(s.ev)
		if len(got) != s.want {
			t.Fatalf("event %d (%s %s at +%v): %d matches, want %d", i, s.ev.Action,
				s.ev.Process.EntityID, s.ev.Time.Sub(t0), len(got), s.want)
		}
		if len(got) == 1 {
			for j, want := range []string{"a", "b", "c"} {
				if got[0].Events[j].Action != want {
					t.Errorf("match event %d is %q, want %q", j, got[0].Events[j].Action, want)
				}
			}
		}
	}
	checkAccounting(t, e)
}
