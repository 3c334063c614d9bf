package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
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
	var want []float64
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["_alert"] == true {
			want = append(want, doc["process"].(map[string]any)["pid"].(float64))
		}
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"rules", "test", "--events", events, shippedAptConf}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got []float64
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
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
		t.Errorf("alerts for pids %v, want %v:\n%s", got, want, stdout.String())
	}
}
