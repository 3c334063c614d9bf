package main

import (
	"slices"
	"strings"
	"testing"
)

const shippedAptConf = "../../rules/shipped/apt_conf_file_creation.toml"

// TestRulesTestAptConfExclusions runs the shipped 7c2e1297 rule over
// recorded ECS file events, one per upstream exclusion (each says which in
// "_note") and three that must alert ("_alert": true).
func TestRulesTestAptConfExclusions(t *testing.T) {
	const events = "testdata/aptconf/events.jsonl"
	want := recordedWant(t, events)
	var got []float64
	for _, doc := range recordedAlerts(t, events, shippedAptConf) {
		if field(doc, "rule.id") != "7c2e1297-7664-42bc-af11-6d5d35220b6b" {
			t.Errorf("alert of rule %v", field(doc, "rule.id"))
		}
		msg, _ := field(doc, "message").(string)
		path, _ := field(doc, "file.path").(string)
		if path == "" || !strings.HasSuffix(msg, "wrote "+path) {
			t.Errorf("message %q does not name file.path %q", msg, path)
		}
		got = append(got, field(doc, "process.pid").(float64))
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts for pids %v, want %v", got, want)
	}
}
