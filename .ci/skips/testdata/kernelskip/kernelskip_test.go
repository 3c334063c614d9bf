// Package kernelskip is a fixture of .ci/skips's test: one pass and one
// skip for an absent kernel feature, which CI accepts, also when a cleanup
// logs after the skip.
package kernelskip

import (
	"errors"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestPasses(t *testing.T) {}

func TestKernelFeatureAbsent(t *testing.T) {
	t.Cleanup(func() { t.Log("restored what the test changed") })
	testenv.SkipKernelFeature(t, "a feature no kernel has", "a probe", errors.New("EINVAL"))
}
