package main

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

const (
	shippedAptExec = "../../rules/shipped/apt_hook_shell_interpreter_child.toml"
	aptExecRuleID  = "ad959eeb-2b7b-4722-ba08-a45f6622f005"
)

// TestRulesTestAptExecExclusions runs the shipped ad959eeb rule over
// recorded ECS process events: pairs of a hook shell and its child, one
// pair per upstream exclusion and per edge of the rule's shape (each child
// says which in "_note"), and the children that must alert ("_alert":
// true). The events were written for this test (a generator's output, not
// a capture); the live cases are in e2e_ad959eeb_test.go.
func TestRulesTestAptExecExclusions(t *testing.T) {
	const events = "testdata/ad959eeb/events.jsonl"
	var want []float64
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notes := map[float64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		pid := field(doc, "process.pid").(float64)
		notes[pid], _ = doc["_note"].(string)
		if doc["_alert"] == true {
			want = append(want, pid)
		}
	}
	if len(want) < 10 || len(notes) < 100 {
		t.Fatalf("%s: %d events, %d to alert: the file is cut short", events, len(notes), len(want))
	}
	var got []float64
	for _, doc := range recordedAlerts(t, events, shippedAptExec) {
		line, _ := json.Marshal(doc)
		if field(doc, "rule.id") != aptExecRuleID {
			t.Errorf("alert of rule %v", field(doc, "rule.id"))
		}
		evs, _ := doc["events"].([]any)
		if len(evs) != 2 {
			t.Fatalf("alert lists %d events, want 2 (shell, child): %s", len(evs), line)
		}
		child := evs[1].(map[string]any)
		pid := field(child, "process.pid").(float64)
		// The alert is the shell's; the message names the child and its
		// command line, which is what a reader needs first.
		msg, _ := field(doc, "message").(string)
		cl, _ := field(child, "process.command_line").(string)
		if field(doc, "process.pid") != field(child, "process.parent.pid") || !strings.HasSuffix(msg, "): "+cl) {
			t.Errorf("alert for %q: process is not the child's parent, or message %q does not end with its command line %q", notes[pid], msg, cl)
		}
		got = append(got, pid)
	}
	if !slices.Equal(got, want) {
		var missed, extra []string
		for _, p := range want {
			if !slices.Contains(got, p) {
				missed = append(missed, notes[p])
			}
		}
		for _, p := range got {
			if !slices.Contains(want, p) {
				extra = append(extra, notes[p])
			}
		}
		t.Errorf("alerts differ:\nmissed: %q\nunexpected: %q", missed, extra)
	}
}

// TestRulesTestAptListbugs: apt-listbugs' hook (DPkg::Pre-Install-Pkgs
// "/usr/bin/apt-listbugs apt") asks the Debian bug server before dpkg
// runs, and waits for an answer when offline, so it is tested with
// recorded events, not live: the shell exec'ing apt-listbugs in its place
// and a shell forking it both stay silent under all three APT rules; a
// control with a longer hook line alerts (eaef8a35), so the events would
// match without the exclusion.
func TestRulesTestAptListbugs(t *testing.T) {
	const events = "testdata/aptlistbugs/events.jsonl"
	want := recordedWant(t, events)
	var got []float64
	for _, doc := range recordedAlerts(t, events, shippedSeed, shippedAptConf, shippedAptExec) {
		line, _ := json.Marshal(doc)
		evs, _ := doc["events"].([]any)
		if len(evs) == 0 || field(doc, "rule.id") != aptNetconRuleID {
			t.Fatalf("unexpected alert %s", line)
		}
		got = append(got, field(evs[len(evs)-1].(map[string]any), "process.pid").(float64))
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts for the connections of pids %v, want %v", got, want)
	}
}
