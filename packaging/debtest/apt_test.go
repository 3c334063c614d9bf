package debtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
)

// aptGet runs apt non-interactively; conffile questions keep the admin's
// version (--force-confold), as an unattended upgrade would.
func aptGet(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"-y", "-q", "-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-confdef"}, args...)
	cmd := exec.Command("apt", full...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apt %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// packageStatus returns dpkg's status of aptsentinel ("" when unknown).
func packageStatus() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Version}", "aptsentinel").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// install installs deb with apt; at cleanup the package is purged (also
// when the test failed) and the purge must leave nothing behind. It
// refuses to touch a machine where aptsentinel is already installed.
func install(t *testing.T, deb string) {
	t.Helper()
	requireDebs(t)
	if st := packageStatus(); st != "" {
		t.Fatalf("aptsentinel is already known to dpkg (%s): not touching an installation these tests did not make", st)
	}
	t.Cleanup(func() {
		if packageStatus() != "" {
			aptGet(t, "purge", "aptsentinel")
		}
		requireNothingLeft(t)
	})
	aptGet(t, "install", deb)
}

// Paths the package or its scripts create; after a purge none may remain.
var ownedPaths = []string{
	"/usr/sbin/aptsentinel",
	"/lib/systemd/system/aptsentinel.service",
	"/etc/aptsentinel",
	"/usr/share/doc/aptsentinel",
	"/usr/share/man/man8/aptsentinel.8.gz",
	"/usr/share/lintian/overrides/aptsentinel",
	"/etc/systemd/system/multi-user.target.wants/aptsentinel.service",
	"/etc/systemd/system/aptsentinel.service", // a mask
	"/var/lib/systemd/deb-systemd-helper-enabled/aptsentinel.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/aptsentinel.service",
	"/var/lib/systemd/deb-systemd-helper-masked/aptsentinel.service",
}

func requireNothingLeft(t *testing.T) {
	t.Helper()
	if st := packageStatus(); st != "" {
		t.Errorf("after purge dpkg still knows aptsentinel: %s", st)
	}
	for _, p := range ownedPaths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after purge %s remains (%v)", p, err)
		}
	}
	requireNoAuditRules(t)
}

// requireNoAuditRules checks the kernel holds no rule with the sensor's key.
func requireNoAuditRules(t *testing.T) {
	t.Helper()
	rules, err := audit.ListRules()
	if err != nil {
		t.Errorf("listing audit rules: %v", err)
		return
	}
	for _, r := range rules {
		if r.Key() == audit.DefaultKey {
			t.Errorf("an audit rule with key %s is left in the kernel", audit.DefaultKey)
			if _, err := audit.DeleteRulesByKey(audit.DefaultKey); err != nil {
				t.Errorf("removing the left rules: %v", err)
			}
			return
		}
	}
}

func requireExists(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func requireGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (%v), want it gone", p, err)
		}
	}
}

// TestInstallRemovePurge installs the package with apt on this machine
// (systemd installed but not PID 1, as in a chroot or container: the
// scripts must succeed and start nothing), kills an installed sensor with
// SIGKILL, then removes the package (prerm must clean up after the killed
// sensor) and purges it.
func TestInstallRemovePurge(t *testing.T) {
	if before := restoreAuditAtEnd(t); before.PID != 0 {
		t.Fatalf("audit PID %d is held before the test: the sensor could not start", before.PID)
	}
	install(t, debNew)
	if st := packageStatus(); st != "ii "+versionNew {
		t.Fatalf("after install dpkg status %q, want \"ii %s\"", st, versionNew)
	}
	requireExists(t, "/usr/sbin/aptsentinel", "/lib/systemd/system/aptsentinel.service",
		"/etc/aptsentinel/aptsentinel.conf", "/usr/share/doc/aptsentinel/copyright")
	// deb-systemd-helper enables the unit even where systemd is not
	// running, so that it starts on the next boot under systemd.
	link := "/etc/systemd/system/multi-user.target.wants/aptsentinel.service"
	if target, err := os.Readlink(link); err != nil || target != "/lib/systemd/system/aptsentinel.service" {
		t.Errorf("enablement symlink %s -> %q (%v), want the unit", link, target, err)
	}
	if out, err := exec.Command("pgrep", "-x", "aptsentinel").Output(); err == nil {
		t.Errorf("install started aptsentinel without systemd (pids %s)", out)
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/aptsentinel.service").CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}

	killInstalledSensor(t)
	aptGet(t, "remove", "aptsentinel")
	// prerm ran `aptsentinel cleanup`: the killed sensor's rules are gone
	// and its audit PID, left pointing at a dead process, is released.
	requireNoAuditRules(t)
	if st := auditStatus(t); st.PID != 0 {
		t.Errorf("after remove the audit PID is %d, want 0 (released)", st.PID)
	}
	if st := packageStatus(); !strings.HasPrefix(st, "rc ") {
		t.Errorf("after remove dpkg status %q, want rc (config files kept)", st)
	}
	requireGone(t, "/usr/sbin/aptsentinel", "/lib/systemd/system/aptsentinel.service")
	requireExists(t, "/etc/aptsentinel/aptsentinel.conf")
	// As with dh_installsystemd, remove keeps the enablement (a reinstall
	// restores it) and masks the unit so that the leftover link cannot
	// start a service whose binary is gone.
	if target, err := os.Readlink("/etc/systemd/system/aptsentinel.service"); err != nil || target != "/dev/null" {
		t.Errorf("after remove the unit is not masked: %q, %v", target, err)
	}

	// An admin's file beside the conffile goes with the purge too.
	if err := os.WriteFile("/etc/aptsentinel/aptsentinel.conf.dpkg-old", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	aptGet(t, "purge", "aptsentinel")
	requireNothingLeft(t)
}

// TestUpgradeKeepsEditedConfig installs the older package, edits the
// config, upgrades to a newer package whose default config changed too,
// and checks dpkg kept the edit (--force-confold) and the new version runs.
func TestUpgradeKeepsEditedConfig(t *testing.T) {
	requireDebs(t)
	changed := buildChangedConfigDeb(t)
	install(t, debOld)
	const conf = "/etc/aptsentinel/aptsentinel.conf"
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "#log-level = info", "log-level = debug", 1)
	if edited == string(b) {
		t.Fatal("the shipped config has no \"#log-level = info\" line to edit")
	}
	if err := os.WriteFile(conf, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	aptGet(t, "install", changed)
	if st := packageStatus(); st != "ii "+versionChanged {
		t.Fatalf("after upgrade dpkg status %q, want \"ii %s\"", st, versionChanged)
	}
	if got, _ := os.ReadFile(conf); string(got) != edited {
		t.Errorf("the upgrade replaced the edited config:\n%s", got)
	}
	requireExists(t, conf+".dpkg-dist") // the new default, for the admin to merge
	out := run(t, "/usr/sbin/aptsentinel", "version")
	if want := "aptsentinel " + versionChanged; strings.TrimSpace(out) != want {
		t.Errorf("installed binary says %q, want %q", out, want)
	}
}

// killInstalledSensor runs the installed sensor as the unit does until it
// is ready, then SIGKILLs it (an OOM kill, or systemd's last resort after
// TimeoutStopSec): it leaves its audit rules and its audit PID behind.
func killInstalledSensor(t *testing.T) {
	t.Helper()
	s := startAsUnit(t, journaltest.Start(t), "")
	s.waitReady(t)
	s.kill(t)
	rules, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, r := range rules {
		if r.Key() == audit.DefaultKey {
			left++
		}
	}
	if left == 0 {
		t.Fatalf("the SIGKILLed sensor left no audit rules: nothing for prerm to clean up\n%s", s.logs(t))
	}
	t.Logf("the SIGKILLed sensor left %d audit rules, audit pid %d (its own: %s)", left, auditStatus(t).PID, s.pid)
}

// restoreAuditAtEnd returns the kernel's audit status now and, at the end
// of the test (after the purge of install's cleanup, registered later),
// puts the enabled flag back: a killed sensor cannot restore it. An audit
// PID still held then is an error: the package's scripts should have
// released it.
func restoreAuditAtEnd(t *testing.T) audit.Status {
	t.Helper()
	before := auditStatus(t)
	t.Cleanup(func() {
		st, err := audit.GetStatus()
		if err != nil {
			t.Errorf("audit status at the end: %v", err)
			return
		}
		if st.PID != before.PID {
			t.Errorf("at the end the audit PID is %d, it was %d", st.PID, before.PID)
			if res, err := audit.Cleanup(audit.DefaultKey); err != nil || res.Holder != nil {
				t.Errorf("releasing it: %v (holder %v)", err, res.Holder)
			}
		}
		// A killed sensor restores nothing: put the enabled flag and the
		// backlog settings back as the test found them.
		if err := audit.RestoreSettings(before); err != nil {
			t.Errorf("restoring the audit settings: %v", err)
		}
	})
	return before
}

const versionChanged = "0.0~debtest3"

// buildChangedConfigDeb builds a newer package whose default config differs
// from debOld's, from a copy of the checkout, so that the upgrade meets a
// conffile both the admin and the package changed.
func buildChangedConfigDeb(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	run(t, "cp", "-a", repoRoot+"/.", src)
	conf := filepath.Join(src, "packaging", "aptsentinel.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n# A new comment in the next version.\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	deb, err := buildDeb(src, t.TempDir(), versionChanged)
	if err != nil {
		t.Fatal(err)
	}
	return deb
}
