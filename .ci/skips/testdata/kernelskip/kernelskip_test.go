// Package kernelskip is a fixture of .ci/skips's test: one pass and one
// skip for an absent kernel feature, which CI accepts.
package kernelskip

import (
	"errors"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func TestPasses(t *testing.T) {}

func TestKernelFeatureAbsent(t *testing.T) {
	testenv.SkipKernelFeature(t, "a feature no kernel has", "a probe", errors.New("EINVAL"))
}
