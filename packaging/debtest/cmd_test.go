package debtest

import (
	"os/exec"
	"strings"
	"testing"
)

// run runs a command and returns its combined output; a failure fails the
// test with the output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// debField returns one control field of the .deb at path.
func debField(t *testing.T, deb, name string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, name))
}
