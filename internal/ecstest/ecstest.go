// Package ecstest reads ECS documents (alert lines) in tests.
package ecstest

import (
	"encoding/json"
	"strings"
	"testing"
)

// Field returns the value at a dotted path ("process.parent.name") of a
// JSON document decoded into a map, nil where the path leads nowhere.
func Field(doc map[string]any, path string) any {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// Lines decodes JSON lines (alerts as the sensor or `rules test` writes
// them), one document each; blank lines are skipped, and a line that is
// not JSON fails the test.
func Lines(t testing.TB, text string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		docs = append(docs, doc)
	}
	return docs
}
