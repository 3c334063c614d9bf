// Package fails is a fixture of .ci/skips's test: a failed test.
package fails

import "testing"

func TestPasses(t *testing.T) {}

func TestFails(t *testing.T) { t.Fatal("wrong") }
