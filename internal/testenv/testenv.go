// Package testenv is the one way a test in this repository skips.
//
// Two reasons exist, and only two (issue 6):
//
//   - Something the machine should have is missing: a tool, root, a
//     service, a file. Require ends the test: a skip on a developer's
//     machine, a failure under CI=true, where the test command has
//     installed everything and a skip would hide a broken setup.
//   - The kernel lacks an optional feature, shown by a probe that tried
//     it. SkipKernelFeature skips, also under CI=true, and prints
//     KernelFeatureMarker with the probe and its result, so CI can tell
//     the two apart in the test output and fail on every other skip.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// KernelFeatureMarker starts the message of every skip for an absent kernel
// feature; .ci/skips accepts a skip only if its output contains it.
const KernelFeatureMarker = "kernel feature absent"

// CI reports whether the tests run under CI=true: then nothing the machine
// can be given may be missing.
func CI() bool { return os.Getenv("CI") == "true" }

// Require returns when err is nil. Otherwise what (a tool, permission,
// service or file the test needs) is missing, and err says why: the test
// fails under CI=true and skips elsewhere, naming both.
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("needs %s: %v", what, err)
	if CI() {
		tb.Fatal(msg + " (CI=true: a missing tool, permission or service is a failure)")
	}
	tb.Skip(msg)
}

// ErrNotRoot is Require's reason when the test does not run as root.
var ErrNotRoot = errors.New("not running as root (euid is not 0)")

// RequireRoot requires euid 0.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Require(tb, "root", ErrNotRoot)
	}
}

// RequireTool requires an executable on PATH and returns its path.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	Require(tb, "the tool "+name, err)
	return path
}

// SkipKernelFeature skips the test, also under CI=true, because the running
// kernel lacks feature: probe names what was tried and result what the
// kernel answered (an errno, an exit status). A skip without both is a
// test bug and fails.
func SkipKernelFeature(tb testing.TB, feature, probe string, result any) {
	tb.Helper()
	msg := KernelFeatureMessage(feature, probe, result)
	if feature == "" || probe == "" || result == nil || fmt.Sprint(result) == "" {
		tb.Fatalf("testenv: a kernel-feature skip must name the feature, its probe and the probe's result: %s", msg)
	}
	tb.Skip(msg)
}

// KernelFeatureMessage is SkipKernelFeature's message.
func KernelFeatureMessage(feature, probe string, result any) string {
	return fmt.Sprintf("%s: %s (probe %s: %v)", KernelFeatureMarker, feature, probe, result)
}
