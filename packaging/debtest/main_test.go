package debtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/audittest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// The packages under test, built once by TestMain: debOld at versionOld and
// debNew at versionNew, from the same checkout.
const (
	versionOld = "0.0~debtest1"
	versionNew = "0.0~debtest2"
)

var (
	repoRoot string // the checkout, two levels above this package
	debOld   string
	debNew   string
	// missingErr names what this machine lacks for the tests: they skip
	// (under CI=true they fail). buildErr is a failed build: they fail.
	missingErr error
	buildErr   error
)

func TestMain(m *testing.M) {
	dist, err := os.MkdirTemp("", "aptsentinel-debtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	missingErr, buildErr = setup(dist)
	// Installed-binary runs take over kernel audit: hold the audit lock.
	audittest.Main(func() int {
		defer os.RemoveAll(dist)
		return m.Run()
	})
}

func setup(dist string) (missing, build error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	repoRoot = filepath.Join(wd, "..", "..")
	var lack []string
	if os.Geteuid() != 0 {
		lack = append(lack, "root")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "apt", "go", "git", "setpriv", "unshare", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			lack = append(lack, tool)
		}
	}
	if len(lack) > 0 {
		return fmt.Errorf("package tests need: %s", strings.Join(lack, ", ")), nil
	}
	if debOld, err = buildDeb(repoRoot, dist, versionOld); err != nil {
		return nil, err
	}
	debNew, err = buildDeb(repoRoot, dist, versionNew)
	return nil, err
}

// buildDeb runs root's packaging/build-deb.sh with the version and output
// directory overridden and returns the path of the .deb.
func buildDeb(root, dist, version string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "packaging", "build-deb.sh"))
	cmd.Env = append(os.Environ(), "APTSENTINEL_VERSION="+version, "APTSENTINEL_DIST="+dist)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build-deb.sh (version %s): %v\n%s", version, err, stderr.String())
	}
	path := strings.TrimSpace(string(out))
	if want := filepath.Join(dist, "aptsentinel_"+version+"_amd64.deb"); path != want {
		return "", fmt.Errorf("build-deb.sh printed %q, want %q", path, want)
	}
	return path, nil
}

// requireDebs skips (or under CI=true fails) when this machine cannot run
// the package tests, and fails when the packages did not build.
func requireDebs(t *testing.T) {
	t.Helper()
	switch {
	case buildErr != nil:
		t.Fatal(buildErr)
	case missingErr != nil:
		testenv.Require(t, "what the package tests use", missingErr)
	}
}
