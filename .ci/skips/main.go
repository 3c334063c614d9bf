// Command skips reads `go test -json` on stdin, prints what a developer
// reads from a plain `go test` run (package results, the output of failed
// tests, build errors), then every skipped test with its reason, and exits
// 1 if a test failed or skipped for any reason but an absent kernel
// feature (testenv.SkipKernelFeature, issue 6), a package failed to build
// or failed outside its tests (TestMain), a test never finished, or no
// test ran at all. CI runs
//
//	go test -json ... | go run ./.ci/skips
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output, build-fail
}

type skip struct {
	name, reason string
	kernel       bool
}

type summary struct {
	failed, passed int
	skips          []skip
	buildFailed    []string
	// pkgFailed are packages that failed, also without a failed test
	// (TestMain exiting 1, a build failure).
	pkgFailed []string
	// unfinished are tests that started and never passed, failed or
	// skipped: the test binary died under them.
	unfinished []string
}

func main() {
	s, err := account(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "skips:", err)
		os.Exit(2)
	}
	if !report(s, os.Stdout) {
		os.Exit(1)
	}
}

// account reads the events, writes the plain go test view to w and
// returns the counts and skips.
func account(r io.Reader, w io.Writer) (summary, error) {
	var s summary
	out := map[string][]string{} // package + test -> its output lines
	running := map[string]bool{} // package + test, from run to its end
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (go vet or the toolchain speaking): pass it on.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "pass", "fail", "skip":
			delete(running, key)
		}
		switch e.Action {
		case "run":
			running[key] = true
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			s.buildFailed = append(s.buildFailed, e.ImportPath)
		case "output":
			if e.Test == "" {
				if t := strings.TrimSpace(e.Output); t != "PASS" && t != "FAIL" {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			out[key] = append(out[key], e.Output)
		case "pass":
			if e.Test != "" {
				s.passed++
				delete(out, key)
			}
		case "fail":
			if e.Test == "" {
				s.pkgFailed = append(s.pkgFailed, e.Package)
				continue
			}
			s.failed++
			fmt.Fprint(w, strings.Join(out[key], ""))
			delete(out, key)
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			sk := skip{name: e.Package + "." + e.Test, reason: reason(out[key]), kernel: kernelSkip(out[key])}
			s.skips = append(s.skips, sk)
			fmt.Fprintf(w, "--- SKIP: %s: %s\n", sk.name, sk.reason)
			delete(out, key)
		}
	}
	for key := range running {
		s.unfinished = append(s.unfinished, key)
		fmt.Fprint(w, strings.Join(out[key], ""))
	}
	sort.Strings(s.unfinished)
	return s, sc.Err()
}

// messageStart matches the first line of a t.Log, t.Skip or t.Error
// message in a test's output: "    file_test.go:12: text".
var messageStart = regexp.MustCompile(`^\s+[^\s:]+\.go:\d+: `)

// kernelSkip reports whether one of a skipped test's messages starts with
// testenv.KernelFeatureMarker, as testenv.SkipKernelFeature's does: a
// skip whose reason merely mentions the marker does not count. Any
// message, not the last: the test's cleanups may log after the skip.
func kernelSkip(lines []string) bool {
	for _, l := range lines {
		if loc := messageStart.FindStringIndex(l); loc != nil && strings.HasPrefix(l[loc[1]:], testenv.KernelFeatureMarker) {
			return true
		}
	}
	return false
}

// reason is a skipped test's own output without the framing lines.
func reason(lines []string) string {
	var kept []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		return "(no reason given)"
	}
	return strings.Join(kept, " | ")
}

// report prints the skip list and the verdict; false means CI fails.
func report(s summary, w io.Writer) bool {
	sort.Slice(s.skips, func(i, j int) bool { return s.skips[i].name < s.skips[j].name })
	bad := 0
	fmt.Fprintf(w, "\n== skipped tests: %d\n", len(s.skips))
	for _, sk := range s.skips {
		verdict := "ok, kernel feature probed absent"
		if !sk.kernel {
			verdict = "NOT ALLOWED"
			bad++
		}
		fmt.Fprintf(w, "%s [%s]\n    %s\n", sk.name, verdict, sk.reason)
	}
	for _, p := range s.pkgFailed {
		fmt.Fprintf(w, "package %s FAILED\n", p)
	}
	for _, t := range s.unfinished {
		fmt.Fprintf(w, "test %s never finished (its test binary died)\n", t)
	}
	ran := s.passed + s.failed + len(s.skips) + len(s.unfinished)
	if ran == 0 {
		fmt.Fprintf(w, "no test ran: a run that tests nothing is no evidence\n")
	}
	fmt.Fprintf(w, "== %d passed, %d failed, %d skipped (%d not for an absent kernel feature), %d packages failed (%d to build), %d tests unfinished\n",
		s.passed, s.failed, len(s.skips), bad, len(s.pkgFailed), len(s.buildFailed), len(s.unfinished))
	return ran > 0 && s.failed == 0 && bad == 0 && len(s.buildFailed) == 0 && len(s.pkgFailed) == 0 && len(s.unfinished) == 0
}
