package main

import (
	"fmt"
	"testing"
	"time"
)

// Issue 8 A.1: process.parent is the parent at fork, for life. In each hook
// below the shell forks a child and exits at once (apt goes on); the child
// is reparented to init or a subreaper and connects about two seconds
// later. Its audit records then say ppid=1 (or the subreaper), but its
// parent at fork is still the hook shell, so the seed rule must alert, as
// Elastic Defend does. Output goes to /dev/null so that apt's caller does
// not wait for the child on its pipe.

// lateConnect is a bash that sleeps, then connects from its own process
// (bash's /dev/tcp redirection: no further fork).
func lateConnect(addr string, port int) string {
	return fmt.Sprintf("bash -c 'sleep 2; exec 3<>/dev/tcp/%s/%d'", addr, port)
}

func TestE2EParentAtForkChildOutlivesShell(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	cases := []struct {
		name string
		hook func(port int) string
	}{
		// dash runs the subshell in a fork of the shell and execs the
		// subshell's last command in place: the connecting bash is the
		// shell's own child.
		{"subshell in the background", func(port int) string {
			return fmt.Sprintf("(sleep 2; bash -c 'exec 3<>/dev/tcp/1.1.1.1/%d') >/dev/null 2>&1 & true", port)
		}},
		// setsid(1) in a background job is no group leader, so it calls
		// setsid() and execs without forking: a new session, same process.
		{"child calls setsid", func(port int) string {
			return "setsid " + lateConnect("1.1.1.1", port) + " >/dev/null 2>&1 & true"
		}},
		{"child sleeps 2s first", func(port int) string {
			return lateConnect("1.1.1.1", port) + " >/dev/null 2>&1 & true"
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := 3000 + i
			before := s.alertCount()
			start := time.Now()
			aptRun(t, "apt", "-o", preInvoke(c.hook(port)))
			got := s.waitAlerts(before+1, 8*time.Second)[before:]
			if len(got) != 1 {
				t.Fatalf("got %d alerts, want 1 (%v after apt started); logs:\n%s", len(got), time.Since(start), s.logText())
			}
			a := got[0]
			checkAlert(t, a, "1.1.1.1", port, "ENETUNREACH")
			if d := alertSpan(t, a); d < 1500*time.Millisecond {
				t.Errorf("connect %v after the shell's exec, want about 2s: the shell had not exited yet", d)
			}
		})
	}
}

// A grandchild through a double fork is not the hook shell's child: its
// parent at fork is the middle process, so the seed rule does not match
// (as in Elastic). A second hook in the same apt run connects from the
// shell's own child as a barrier: its alert shows the sensor saw the run,
// and it must be the only one.
func TestE2EParentAtForkDoubleForkDoesNotMatch(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	doubleFork := "(" + lateConnect("1.1.1.1", 4000) + " >/dev/null 2>&1 &); true"
	aptRun(t, "apt", "-o", preInvoke(doubleFork), "-o", preInvoke(connectHook("1.1.1.1", 4001)))
	// The grandchild connects about 2s after its shell; wait past it.
	time.Sleep(3 * time.Second)
	got := s.waitAlerts(1, 5*time.Second)
	time.Sleep(500 * time.Millisecond)
	got = s.waitAlerts(len(got), 0)
	if len(got) != 1 {
		for _, a := range got {
			t.Logf("alert: %s", a.raw)
		}
		t.Fatalf("got %d alerts, want only the barrier's; logs:\n%s", len(got), s.logText())
	}
	if p := field(got[0].doc, "destination.port"); p != float64(4001) {
		t.Errorf("the alert is for port %v, not the barrier's 4001: %s", p, got[0].raw)
	}
}

// alertSpan is the time from the alert's first event to its last.
func alertSpan(t *testing.T, a alertLine) time.Duration {
	t.Helper()
	events, _ := field(a.doc, "events").([]any)
	if len(events) != 2 {
		t.Fatalf("events: %d, want 2", len(events))
	}
	ts := func(e any) time.Time {
		s, _ := field(e.(map[string]any), "@timestamp").(string)
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("event @timestamp %q: %v", s, err)
		}
		return v
	}
	return ts(events[1]).Sub(ts(events[0]))
}
