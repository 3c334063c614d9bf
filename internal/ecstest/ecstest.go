// Package ecstest reads ECS documents (alert lines) in tests.
package ecstest

import "strings"

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
