package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const aptConfRuleID = "7c2e1297-7664-42bc-af11-6d5d35220b6b"

// aptConfAlerts are the alerts of rule 7c2e1297 for paths starting with
// prefix (other tests' and other rules' alerts are not this test's).
func aptConfAlerts(s *sensorProc, prefix string) []alertLine {
	var out []alertLine
	for _, a := range s.waitAlerts(1<<30, 0) {
		p, _ := field(a.doc, "file.path").(string)
		if field(a.doc, "rule.id") == aptConfRuleID && strings.HasPrefix(p, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// removeAtCleanup removes path when the test ends, also when it fails.
func removeAtCleanup(t *testing.T, path string) {
	t.Helper()
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// TestE2EAptConfFileCreation: a real dpkg -i of a package that ships a
// conffile in /etc/apt/apt.conf.d stays silent for rule 7c2e1297 (dpkg
// writes X.dpkg-new and renames it), and then a shell redirection into the
// directory raises exactly one alert naming the file and the shell. The
// alert afterwards also proves the sensor was watching during the install.
func TestE2EAptConfFileCreation(t *testing.T) {
	requireE2E(t)
	for _, tool := range []string{"dpkg", "dpkg-deb", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: %v", tool, err)
		}
	}
	tag := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	prefix := "/etc/apt/apt.conf.d/99aptsentinel-test-"
	pkg := "aptsentinel-test-conf-" + tag
	conffile := prefix + "pkg-" + tag

	// The package: one conffile, so dpkg installs it as X.dpkg-new + rename.
	root := filepath.Join(t.TempDir(), pkg)
	for _, d := range []string{"DEBIAN", "etc/apt/apt.conf.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := "Package: " + pkg + "\nVersion: 1.0\nArchitecture: all\nMaintainer: aptsentinel tests <root@localhost>\nDescription: throwaway package for the aptsentinel tests\n"
	must(t, os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "DEBIAN/conffiles"), []byte(conffile+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, conffile), []byte("// aptsentinel test conffile\n"), 0o644))
	deb := root + ".deb"
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}

	s := startSensor(t)
	removeAtCleanup(t, conffile)
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", pkg).CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
	})
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	if _, err := os.Stat(conffile); err != nil {
		t.Fatalf("dpkg did not install the conffile: %v", err)
	}

	planted := prefix + "sh-" + tag
	removeAtCleanup(t, planted)
	if out, err := exec.Command("sh", "-c", "echo '// planted' > "+planted).CombinedOutput(); err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(aptConfAlerts(s, prefix)) == 0 && time.Now().Before(deadline) {
		s.waitAlerts(s.alertCount()+1, 500*time.Millisecond)
	}
	time.Sleep(2 * time.Second) // room for a late alert of the dpkg run
	got := aptConfAlerts(s, prefix)
	if len(got) != 1 {
		var raws []string
		for _, a := range got {
			raws = append(raws, a.raw)
		}
		t.Fatalf("%d alerts of %s, want 1 (the shell's):\n%s\nlogs:\n%s", len(got), aptConfRuleID, strings.Join(raws, "\n"), s.logText())
	}
	a := got[0].doc
	if field(a, "file.path") != planted || field(a, "process.name") != "sh" ||
		field(a, "file.directory") != "/etc/apt/apt.conf.d" {
		t.Errorf("alert %s", got[0].raw)
	}
	if exe, _ := field(a, "process.executable").(string); exe == "" {
		t.Errorf("alert names no process.executable: %s", got[0].raw)
	}
	if msg, _ := field(a, "message").(string); !strings.Contains(msg, "wrote "+planted) || !strings.Contains(msg, "sh (pid ") {
		t.Errorf("message %q", msg)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
