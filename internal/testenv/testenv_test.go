package testenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test.
// Fatal and Skip stop the helper as the real ones do (they unwind).
type recorder struct {
	testing.TB
	ended string // "", "fatal" or "skip"
	msg   string
}

type stop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.ended, r.msg = "fatal", fmt.Sprint(args...)
	panic(stop{})
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }
func (r *recorder) Skip(args ...any) {
	r.ended, r.msg = "skip", fmt.Sprint(args...)
	panic(stop{})
}

func (r *recorder) run(f func(testing.TB)) (ended *recorder) {
	ended = r
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stop); !ok {
				panic(v)
			}
		}
	}()
	f(r)
	return
}

func TestRequire(t *testing.T) {
	missing := errors.New("exec: \"lintian\": executable file not found in $PATH")
	tests := []struct {
		ci        string
		err       error
		wantEnded string
	}{
		{"true", nil, ""},
		{"", nil, ""},
		{"true", missing, "fatal"},
		{"", missing, "skip"},
		{"false", missing, "skip"},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		r := (&recorder{}).run(func(tb testing.TB) { Require(tb, "the tool lintian", tt.err) })
		if r.ended != tt.wantEnded {
			t.Errorf("CI=%q err=%v: ended %q, want %q (%s)", tt.ci, tt.err, r.ended, tt.wantEnded, r.msg)
		}
		if tt.err != nil && (!strings.Contains(r.msg, "lintian") || !strings.Contains(r.msg, "not found")) {
			t.Errorf("message %q does not name what is missing and why", r.msg)
		}
		if strings.Contains(r.msg, KernelFeatureMarker) {
			t.Errorf("a missing tool carries the kernel-feature marker: %q", r.msg)
		}
	}
}

func TestSkipKernelFeature(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := (&recorder{}).run(func(tb testing.TB) {
			SkipKernelFeature(tb, "32-bit x86 programs", "exec of a static i386 ELF", "exec format error")
		})
		want := "kernel feature absent: 32-bit x86 programs (probe exec of a static i386 ELF: exec format error)"
		if r.ended != "skip" || r.msg != want {
			t.Errorf("CI=%q: ended %q with %q, want skip with %q", ci, r.ended, r.msg, want)
		}
	}
	// A kernel-feature skip that does not say what the probe found is a
	// test bug, not a skip.
	for _, args := range [][3]string{{"", "p", "r"}, {"f", "", "r"}, {"f", "p", ""}} {
		r := (&recorder{}).run(func(tb testing.TB) { SkipKernelFeature(tb, args[0], args[1], args[2]) })
		if r.ended != "fatal" {
			t.Errorf("SkipKernelFeature%q: ended %q, want fatal", args, r.ended)
		}
	}
	r := (&recorder{}).run(func(tb testing.TB) { SkipKernelFeature(tb, "f", "p", nil) })
	if r.ended != "fatal" {
		t.Errorf("nil result: ended %q, want fatal", r.ended)
	}
}

func TestRequireTool(t *testing.T) {
	t.Setenv("CI", "true")
	var got string
	r := (&recorder{}).run(func(tb testing.TB) { got = RequireTool(tb, "sh") })
	if r.ended != "" || got == "" {
		t.Errorf("sh: ended %q (%s), path %q", r.ended, r.msg, got)
	}
	r = (&recorder{}).run(func(tb testing.TB) { RequireTool(tb, "no-such-tool-aptsentinel") })
	if r.ended != "fatal" || !strings.Contains(r.msg, "no-such-tool-aptsentinel") {
		t.Errorf("missing tool under CI=true: ended %q with %q, want fatal naming it", r.ended, r.msg)
	}
}
