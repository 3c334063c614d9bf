package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/ecstest"
)

// Recorded events (testdata/*/events.jsonl) mark the events a rule must
// alert on with "_alert": true; recordedAlerts runs `aptsentinel rules test`
// over them, as an admin would.

// recordedWant returns the pids of the events marked "_alert": true.
func recordedWant(t *testing.T, events string) []float64 {
	t.Helper()
	data, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["_alert"] == true {
			want = append(want, field(doc, "process.pid").(float64))
		}
	}
	return want
}

// recordedAlerts runs `rules test --events events files...` and returns its
// alerts, one document each.
func recordedAlerts(t *testing.T, events string, files ...string) []map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := realMain(append([]string{"rules", "test", "--events", events}, files...), &stdout, &stderr); code != 0 {
		t.Fatalf("rules test --events %s: exit %d: %s", events, code, stderr.String())
	}
	return ecstest.Lines(t, stdout.String())
}
