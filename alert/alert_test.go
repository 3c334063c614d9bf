package alert

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

func testMatch() rules.Match {
	shell := rules.Process{
		PID: 3119, EntityID: "shell-id", Name: "sh", Executable: "/usr/bin/dash",
		Args:   []string{"sh", "-c", `bash -c "exec 3<>/dev/tcp/1.1.1.1/80"; true`},
		Parent: rules.Parent{PID: 3118, EntityID: "apt-fork-id", Name: "apt", Executable: "/usr/bin/apt"},
	}
	child := rules.Process{
		PID: 3120, EntityID: "bash-id", Name: "bash", Executable: "/usr/bin/bash",
		Args:   []string{"bash", "-c", "exec 3<>/dev/tcp/1.1.1.1/80"},
		Parent: rules.Parent{PID: 3119, EntityID: "shell-id", Name: "sh"},
	}
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 760e6, time.UTC)
	return rules.Match{Rule: rules.AptNetcon(), Events: []rules.Event{
		{Time: t0, Action: rules.ActionExec, HostID: "h1", Process: shell},
		{Time: t0.Add(4 * time.Millisecond), Action: rules.ActionConnectionAttempt, HostID: "h1", Process: child,
			Destination: netip.MustParseAddrPort("1.1.1.1:80"), Outcome: "failure", Errno: "ENETUNREACH"},
	}}
}

func TestAlertFields(t *testing.T) {
	a := New(testMatch(), Host{ID: "h1", Name: "vm"}, time.Now())
	line, err := a.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) any {
		var cur any = doc
		for _, p := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[p]
		}
		return cur
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"@timestamp"}, "2026-11-26T02:00:00.764Z"},
		{[]string{"event", "kind"}, "alert"},
		{[]string{"rule", "id"}, "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"},
		{[]string{"rule", "name"}, "Suspicious APT Package Manager Network Connection"},
		{[]string{"rule", "version"}, "10"},
		{[]string{"event", "risk_score"}, 47.0},
		{[]string{"rule", "severity"}, "medium"},
		{[]string{"threat", "framework"}, "MITRE ATT&CK"},
		{[]string{"host", "id"}, "h1"},
		{[]string{"host", "name"}, "vm"},
		{[]string{"process", "pid"}, 3119.0},
		{[]string{"process", "entity_id"}, "shell-id"},
		{[]string{"process", "name"}, "sh"},
		{[]string{"process", "executable"}, "/usr/bin/dash"},
		{[]string{"process", "parent", "pid"}, 3118.0},
		{[]string{"process", "parent", "name"}, "apt"},
		{[]string{"process", "parent", "entity_id"}, "apt-fork-id"},
		{[]string{"destination", "ip"}, "1.1.1.1"},
		{[]string{"destination", "port"}, 80.0},
		{[]string{"network", "type"}, "ipv4"},
	}
	for _, c := range checks {
		if got := get(c.path...); got != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	events, _ := doc["events"].([]any)
	if len(events) != 2 {
		t.Fatalf("events: %d, want 2", len(events))
	}
	e1, e2 := events[0].(map[string]any), events[1].(map[string]any)
	if e1["event"].(map[string]any)["action"] != "exec" || e2["event"].(map[string]any)["action"] != "connection_attempted" {
		t.Errorf("events out of order: %v", events)
	}
	if e2["process"].(map[string]any)["parent"].(map[string]any)["entity_id"] != e1["process"].(map[string]any)["entity_id"] {
		t.Error("event 2's parent entity id is not event 1's entity id")
	}
	if e2["error"].(map[string]any)["code"] != "ENETUNREACH" || e2["event"].(map[string]any)["outcome"] != "failure" {
		t.Errorf("connect outcome missing: %v", e2)
	}
	tactics := get("threat", "tactic", "id").([]any)
	if len(tactics) == 0 {
		t.Error("no MITRE tactics")
	}
}

// Attacker-chosen strings must not break the JSON line or forge fields.
func TestAlertHostileStrings(t *testing.T) {
	m := testMatch()
	evil := "x\"}\n{\"event\":{\"kind\":\"forged\"}}\x00\x1b[31m\xff\xfe"
	m.Events[0].Process.Args = append(m.Events[0].Process.Args, evil)
	m.Events[1].Process.Name = evil
	line, err := New(m, Host{ID: "h1", Name: "vm"}, time.Now()).MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(line, "\n\r\x00\x1b") {
		t.Fatalf("alert line carries raw control bytes: %q", line)
	}
	var doc struct {
		Event   struct{ Kind string }
		Process struct{ Args []string }
	}
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatalf("alert line is not one JSON document: %v", err)
	}
	if doc.Event.Kind != "alert" || len(doc.Process.Args) != 4 {
		t.Errorf("fields forged or lost: %+v", doc)
	}
}

func TestAlertIPv4MappedDestination(t *testing.T) {
	m := testMatch()
	m.Events[1].Destination = netip.MustParseAddrPort("[::ffff:8.8.8.8]:53")
	a := New(m, Host{}, time.Now())
	if a.Destination.IP != "8.8.8.8" || a.Network.Type != "ipv4" {
		t.Errorf("destination %+v network %+v, want the IPv4 address", a.Destination, a.Network)
	}
}

func BenchmarkAlertMarshal(b *testing.B) {
	m := testMatch()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(m, Host{ID: "h1", Name: "vm"}, time.Now()).MarshalLine(); err != nil {
			b.Fatal(err)
		}
	}
}
