package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const ruleID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

// checkAlert asserts the fields of an alert for a hook shell whose bash
// child attempted dest:port.
// errno is the connect() error expected inside a network namespace with no
// route: ENETUNREACH for IPv4, EADDRNOTAVAIL for IPv6 (no source address).
func checkAlert(t *testing.T, a alertLine, dest string, port int, errno string) {
	t.Helper()
	want := map[string]any{
		"event.kind":          "alert",
		"rule.id":             ruleID,
		"rule.name":           "Suspicious APT Package Manager Network Connection",
		"rule.version":        "10",
		"event.risk_score":    47.0,
		"rule.severity":       "medium",
		"process.name":        "sh",
		"process.executable":  "/usr/bin/dash",
		"process.parent.name": "apt",
		// The hook runner, a fork of apt that never execs, has apt's
		// image even when its fork is read before apt's exec record
		// (apt runs under `unshare -n`, whose image it had before).
		"process.parent.executable": "/usr/bin/apt",
		"destination.ip":            dest,
		"destination.port":          float64(port),
		"threat.framework":          "MITRE ATT&CK",
	}
	for path, v := range want {
		if got := field(a.doc, path); got != v {
			t.Errorf("alert %s = %#v, want %#v\n%s", path, got, v, a.raw)
		}
	}
	if id, _ := os.ReadFile("/etc/machine-id"); field(a.doc, "host.id") != strings.TrimSpace(string(id)) {
		t.Errorf("host.id = %v, want the machine id %s", field(a.doc, "host.id"), id)
	}
	args, _ := field(a.doc, "process.args").([]any)
	// system(3) passes argv[0] "sh"; apt's Pre-Install-Pkgs exec passes "/bin/sh".
	if !slices.Contains(args, any("-c")) || len(args) != 3 || (args[0] != "sh" && args[0] != "/bin/sh") {
		t.Errorf("process.args = %v, want [sh -c HOOK] or [/bin/sh -c HOOK]", args)
	}
	events, _ := field(a.doc, "events").([]any)
	if len(events) != 2 {
		t.Fatalf("events has %d entries, want 2: %s", len(events), a.raw)
	}
	e1, e2 := events[0].(map[string]any), events[1].(map[string]any)
	checks := []struct {
		doc  map[string]any
		path string
		want any
	}{
		{e1, "event.action", "exec"},
		{e1, "process.name", "sh"},
		{e1, "process.parent.name", "apt"},
		{e2, "event.action", "connection_attempted"},
		{e2, "process.name", "bash"},
		{e2, "process.executable", "/usr/bin/bash"},
		{e2, "destination.ip", dest},
		{e2, "event.outcome", "failure"},
		{e2, "error.code", errno},
		{e2, "process.parent.entity_id", field(e1, "process.entity_id")},
		{e1, "process.entity_id", field(a.doc, "process.entity_id")},
		{e1, "process.pid", field(a.doc, "process.pid")},
		{e2, "process.parent.pid", field(e1, "process.pid")},
	}
	for _, c := range checks {
		if got := field(c.doc, c.path); got != c.want || got == nil {
			t.Errorf("event %s = %#v, want %#v", c.path, got, c.want)
		}
	}
	if field(e2, "process.entity_id") == field(e1, "process.entity_id") {
		t.Error("the connecting child has its shell's entity id: fork did not make a new entity")
	}
}

func TestE2EAptUpdateHookRaisesOneAlert(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", 80)))
	alerts := s.waitAlerts(1, 5*time.Second)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1; logs:\n%s", len(alerts), s.logText())
	}
	checkAlert(t, alerts[0], "1.1.1.1", 80, "ENETUNREACH")
	// Nothing more may come: one alert per shell.
	if more := s.waitAlerts(2, time.Second); len(more) != 1 {
		t.Errorf("got %d alerts after the first, want none: %s", len(more)-1, more[1].raw)
	}
}

func TestE2EHookFileIPv6(t *testing.T) {
	requireE2E(t)
	f, err := os.CreateTemp("/etc/apt/apt.conf.d", "99aptsentinel-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	fmt.Fprintf(f, "APT::Update::Pre-Invoke { \"%s\"; };\n", connectHook("2001:4860:4860::8888", 53))
	f.Close()
	s := startSensor(t)
	aptRun(t, "apt")
	alerts := s.waitAlerts(1, 5*time.Second)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1; logs:\n%s", len(alerts), s.logText())
	}
	checkAlert(t, alerts[0], "2001:4860:4860::8888", 53, "EADDRNOTAVAIL")
	if typ := field(alerts[0].doc, "network.type"); typ != "ipv6" {
		t.Errorf("network.type = %v, want ipv6", typ)
	}
}

// Each negative case runs first; a positive case (a "barrier", to another
// port) follows. The audit stream is ordered, so once the barrier's alert is
// out, the negative's events were judged: exactly one alert, the barrier's.
func TestE2ENegatives(t *testing.T) {
	requireE2E(t)
	s := startSensor(t)
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"hook that does not connect", func(t *testing.T) {
			aptRun(t, "apt", "-o", preInvoke("true; true"))
		}},
		{"hook connecting to loopback (excluded)", func(t *testing.T) {
			aptRun(t, "apt", "-o", preInvoke(connectHook("127.0.0.1", 9)))
		}},
		{"shell outside apt that connects", func(t *testing.T) {
			out, err := exec.Command("unshare", "-n", "sh", "-c", connectHook("1.1.1.1", 80)).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}},
		{"apt-get hook (the rule names apt only)", func(t *testing.T) {
			aptRun(t, "apt-get", "-o", preInvoke(connectHook("1.1.1.1", 80)))
		}},
		{"hook whose shell execs the connecting program in place (no child)", func(t *testing.T) {
			aptRun(t, "apt", "-o", preInvoke("exec bash -c 'echo >/dev/tcp/1.1.1.1/80; true' 2>/dev/null"))
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.alertCount()
			c.run(t)
			barrierPort := 1000 + i
			aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", barrierPort)))
			got := s.waitAlerts(before+1, 5*time.Second)[before:]
			time.Sleep(200 * time.Millisecond)
			got = s.waitAlerts(before+1, 0)[before:]
			if len(got) != 1 {
				for _, a := range got {
					t.Logf("alert: %s", a.raw)
				}
				t.Fatalf("got %d alerts, want only the barrier's", len(got))
			}
			if p := field(got[0].doc, "destination.port"); p != float64(barrierPort) {
				t.Errorf("the alert is for port %v, not the barrier's %d: %s", p, barrierPort, got[0].raw)
			}
		})
	}
}

// TestE2ERecall runs the positive case 50 times: 50 alerts, one per shell.
func TestE2ERecall(t *testing.T) {
	requireE2E(t)
	const runs = 50
	s := startSensor(t)
	for i := 0; i < runs; i++ {
		aptRun(t, "apt", "-o", preInvoke(connectHook("1.1.1.1", 2000+i)))
	}
	alerts := s.waitAlerts(runs, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	alerts = s.waitAlerts(runs, 0)
	if len(alerts) != runs {
		t.Fatalf("got %d alerts for %d runs; logs:\n%s", len(alerts), runs, s.logText())
	}
	ports := map[float64]bool{}
	shells := map[any]bool{}
	var lat []time.Duration
	for _, a := range alerts {
		ports[field(a.doc, "destination.port").(float64)] = true
		shells[field(a.doc, "process.entity_id")] = true
		if ts, err := time.Parse(time.RFC3339Nano, field(a.doc, "@timestamp").(string)); err == nil {
			lat = append(lat, a.received.Sub(ts))
		}
	}
	if len(ports) != runs || len(shells) != runs {
		t.Errorf("%d distinct ports and %d distinct shells in %d alerts, want %d each", len(ports), len(shells), runs, runs)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == runs {
		// connect() to alert on stdout; the audit timestamp has millisecond
		// resolution, so these are within a millisecond.
		t.Logf("connect-to-alert latency over %d alerts: p50 %v, p90 %v, max %v", runs, lat[runs/2], lat[runs*9/10], lat[runs-1])
	}
}
