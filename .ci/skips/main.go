// Command skips reads `go test -json` on stdin, prints what a developer
// reads from a plain `go test` run (package results, the output of failed
// tests, build errors), then every skipped test with its reason, and exits
// 1 if a test failed or skipped for any reason but an absent kernel
// feature (testenv.SkipKernelFeature, issue 6). CI runs
//
//	go test -json ... | go run ./.ci/skips
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
			if e.Test != "" {
				s.failed++
				fmt.Fprint(w, strings.Join(out[key], ""))
				delete(out, key)
			}
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			sk := skip{name: e.Package + "." + e.Test, reason: reason(out[key])}
			sk.kernel = strings.Contains(sk.reason, testenv.KernelFeatureMarker)
			s.skips = append(s.skips, sk)
			fmt.Fprintf(w, "--- SKIP: %s: %s\n", sk.name, sk.reason)
			delete(out, key)
		}
	}
	return s, sc.Err()
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
	fmt.Fprintf(w, "== %d passed, %d failed, %d skipped (%d not for an absent kernel feature), %d packages failed to build\n",
		s.passed, s.failed, len(s.skips), bad, len(s.buildFailed))
	return s.failed == 0 && bad == 0 && len(s.buildFailed) == 0
}
