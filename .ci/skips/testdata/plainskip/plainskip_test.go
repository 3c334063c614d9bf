// Package plainskip is a fixture of .ci/skips's test: a pass and a skip
// for a reason other than an absent kernel feature, which CI refuses.
package plainskip

import "testing"

func TestPasses(t *testing.T) {}

func TestSkips(t *testing.T) { t.Skip("the tool frob is not installed") }
