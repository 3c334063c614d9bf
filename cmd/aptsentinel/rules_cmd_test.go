package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const shippedSeed = "../../rules/shipped/apt_hook_shell_network_connection.toml"

// TestRulesTestCommand: `rules test` runs exactly the given files over ECS
// events (nested or dotted keys) and prints one alert line per match.
func TestRulesTestCommand(t *testing.T) {
	events := `{"@timestamp":"2026-03-24T12:00:00.000Z","event":{"category":["process"],"action":"exec"},"host":{"id":"h"},"process":{"pid":200,"entity_id":"s","name":"sh","args":["/bin/sh","-c","curl x"],"parent":{"pid":100,"entity_id":"a","name":"apt"}}}
{"@timestamp":"2026-03-24T12:00:01.000Z","event.category":"network","event.action":"connection_attempted","host.id":"h","process.pid":300,"process.entity_id":"c","process.name":"curl","process.parent.entity_id":"s","destination.ip":"8.8.8.8","destination.port":443}
{"@timestamp":"2026-03-24T12:00:02.000Z","event.category":"network","host.id":"h","process.entity_id":"d","process.parent.entity_id":"s","destination.ip":"1.1.1.1","destination.port":80}
`
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"rules", "test", "--events", path, shippedSeed}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d alert lines, want 1 (one per shell):\n%s", len(lines), stdout.String())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if field(doc, "rule.id") != ruleID || field(doc, "destination.port") != 443.0 ||
		!strings.HasSuffix(field(doc, "message").(string), "attempt a connection to 8.8.8.8:443") {
		t.Errorf("alert %s", lines[0])
	}

	// Out of order events and an unknown category are refused with the line.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(strings.Join([]string{strings.Split(events, "\n")[1], strings.Split(events, "\n")[0]}, "\n")), 0o644)
	stderr.Reset()
	if code := realMain([]string{"rules", "test", "--events", bad, shippedSeed}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), ":2: @timestamp") {
		t.Errorf("unsorted events: exit %d, %s", code, stderr.String())
	}
	os.WriteFile(bad, []byte(`{"@timestamp":"2026-03-24T12:00:00Z","event.category":"registry"}`), 0o644)
	stderr.Reset()
	if code := realMain([]string{"rules", "test", "--events", bad, shippedSeed}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), `:1: event.category "registry"`) {
		t.Errorf("unknown category: exit %d, %s", code, stderr.String())
	}
	if code := realMain([]string{"rules", "test", shippedSeed}, &stdout, &stderr); code != 2 {
		t.Errorf("no --events: exit %d, want 2", code)
	}
}

func TestRulesListJSON(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "off.toml"), []byte(`disable = ["`+ruleID+`"]`), 0o644)
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"rules", "list", "--json", "--rules-dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rows []ruleRow
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rows, func(r ruleRow) bool { return r.ID == ruleID })
	if i < 0 || rows[i].Source != "builtin" || rows[i].Enabled || rows[i].Version != 10 {
		t.Errorf("rows %+v, want the seed rule, builtin, disabled", rows)
	}
	if !slices.ContainsFunc(rows, func(r ruleRow) bool { return r.ID == aptConfRuleID && r.Enabled }) {
		t.Errorf("rows %+v lack rule %s, enabled", rows, aptConfRuleID)
	}
}
