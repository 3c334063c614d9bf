package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// fixtures are the packages under testdata, each one case of what CI must
// pass or fail, with what the report must say.
var fixtures = []struct {
	dir, want string
	ok        bool
}{
	{"kernelskip", "ok, kernel feature probed absent", true},
	{"plainskip", "TestSkips [NOT ALLOWED]", false},
	{"markerlogged", "TestSkips [NOT ALLOWED]", false},
	{"fails", "1 failed", false},
	{"broken", "(1 to build)", false},
	{"mainfails", "mainfails FAILED", false},
	{"notests", "no test ran", false},
}

// TestVerdicts runs `go test -json` over the fixture packages, as .ci/test
// does over the tree, and feeds each package's events to account and
// report: only the package whose one skip is testenv.SkipKernelFeature's
// passes.
func TestVerdicts(t *testing.T) {
	args := []string{"test", "-count=1", "-json"}
	for _, f := range fixtures {
		args = append(args, "./testdata/"+f.dir)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(cmd.Environ(), "CI=true") // as .ci/test runs it
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("go test: %v\n%s", err, stderr.String())
	}
	byDir := splitByPackage(t, raw)
	for _, f := range fixtures {
		in := byDir[f.dir]
		if len(in) == 0 {
			t.Errorf("%s: no events from go test -json:\n%s", f.dir, stderr.String())
			continue
		}
		var shown bytes.Buffer
		s, err := account(bytes.NewReader(in), &shown)
		if err != nil {
			t.Fatalf("%s: %v", f.dir, err)
		}
		ok := report(s, &shown)
		if ok != f.ok || !strings.Contains(shown.String(), f.want) {
			t.Errorf("%s: verdict %v, want %v, saying %q:\n%s", f.dir, ok, f.ok, f.want, shown.String())
		}
	}
}

// splitByPackage groups go test -json lines by the fixture they are of:
// the last element of Package, or of ImportPath for build events
// ("pkg [pkg.test]").
func splitByPackage(t *testing.T, raw []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a go test -json line: %q", sc.Text())
		}
		pkg := e.Package
		if pkg == "" {
			pkg, _, _ = strings.Cut(e.ImportPath, " ")
		}
		dir := pkg[strings.LastIndex(pkg, "/")+1:]
		out[dir] = append(append(out[dir], sc.Bytes()...), '\n')
	}
	return out
}

// TestUnfinishedAndNoInput: a test whose binary died before its end
// event fails the run and its output is shown; empty input (go test
// printed nothing: a bad package pattern) fails too.
func TestUnfinishedAndNoInput(t *testing.T) {
	died := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"fatal error: out of memory\n"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"pass","Package":"p","Test":"TestB"}
`
	for _, tt := range []struct{ name, in, want string }{
		{"died", died, "test p TestA never finished"},
		{"empty", "", "no test ran"},
		{"not json", "go: cannot find main module\n", "no test ran"},
	} {
		var shown bytes.Buffer
		s, err := account(strings.NewReader(tt.in), &shown)
		if err != nil {
			t.Fatal(err)
		}
		if report(s, &shown) || !strings.Contains(shown.String(), tt.want) {
			t.Errorf("%s: passed, or the report lacks %q:\n%s", tt.name, tt.want, shown.String())
		}
	}
	if !strings.Contains(func() string {
		var shown bytes.Buffer
		account(strings.NewReader(died), &shown) //nolint:errcheck // read from a string
		return shown.String()
	}(), "out of memory") {
		t.Error("the unfinished test's output is not shown")
	}
}
