// Package broken is a fixture of .ci/skips's test: it does not compile
// (gofmt-clean all the same, so the tree's checks pass).
package broken

import "testing"

func TestBroken(t *testing.T) {
	unused := 1
}
