// Package markerlogged is a fixture of .ci/skips's test: a test that logs
// the kernel-feature marker and then skips for another reason is an
// ordinary skip, refused.
package markerlogged

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestPasses(t *testing.T) {}

func TestSkips(t *testing.T) {
	t.Log(testenv.KernelFeatureMarker + ": said in passing")
	t.Skip("not today")
}
