// Package markerlogged is a fixture of .ci/skips's test: a skip whose
// reason mentions the kernel-feature marker without being
// testenv.SkipKernelFeature's message is an ordinary skip, refused.
package markerlogged

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestPasses(t *testing.T) {}

func TestSkips(t *testing.T) {
	t.Skip("the tool frob is missing, which is no " + testenv.KernelFeatureMarker)
}
