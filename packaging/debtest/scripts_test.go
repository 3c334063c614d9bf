package debtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func shellScripts() []string {
	return []string{
		"scripts/postinst", "scripts/prerm", "scripts/postrm",
		"build-deb.sh", "version.sh", "copyright.sh",
	}
}

// TestScriptsSyntax checks the maintainer and build scripts with sh -n and,
// when installed, shellcheck as POSIX sh (dash is /bin/sh on Debian).
func TestScriptsSyntax(t *testing.T) {
	shellcheck := testenv.RequireTool(t, "shellcheck")
	for _, s := range shellScripts() {
		path := filepath.Join("..", s)
		if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
		if shellcheck != "" {
			if out, err := exec.Command(shellcheck, "-s", "sh", path).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s, err, out)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "#!/bin/sh\n") || !regexp.MustCompile(`(?m)^set -e`).Match(b) {
			t.Errorf("%s: want #!/bin/sh and set -e", s)
		}
	}
}

// TestConfigShowsDefaults checks every commented "#name = value" line of
// the shipped config against `aptsentinel help run`: the name is a flag and
// the value its default, so the file never advertises a setting the binary
// refuses or a default it does not have.
func TestConfigShowsDefaults(t *testing.T) {
	requireDebs(t)
	dir := t.TempDir()
	run(t, "dpkg-deb", "-x", debNew, dir)
	help := run(t, filepath.Join(dir, "usr", "sbin", "aptsentinel"), "help", "run")
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+) \(default "([^"]*)"\)$`).FindAllStringSubmatch(help, -1) {
		defaults[m[1]] = m[2]
	}
	if len(defaults) == 0 {
		t.Fatalf("no flags in `aptsentinel help run`:\n%s", help)
	}
	f, err := os.Open(filepath.Join(dir, "etc", "aptsentinel", "aptsentinel.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	setting := regexp.MustCompile(`^#([a-z-]+) = (.*)$`)
	shown := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line != "" && line[0] != '#' {
			t.Errorf("line %d %q: the shipped config sets nothing, it only shows defaults", n, line)
		}
		m := setting.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		shown++
		def, ok := defaults[m[1]]
		switch {
		case !ok || m[1] == "config":
			t.Errorf("line %d: %q is not a setting of aptsentinel run", n, m[1])
		case def != m[2]:
			t.Errorf("line %d: %s = %s, but the default is %q", n, m[1], m[2], def)
		}
	}
	if want := len(defaults) - 1; shown != want { // all flags but --config
		t.Errorf("the config shows %d settings, the binary has %d", shown, want)
	}
}
