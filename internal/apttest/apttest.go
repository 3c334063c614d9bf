// Package apttest runs the real apt for tests, offline and contained.
//
// Every run is an `apt update` (or `apt-get update`) with an empty source
// list, private package lists and cache, inside a new network namespace:
//   - an update with an empty source list cleans the package lists it is
//     given, so the host's /var/lib/apt/lists must never be the ones;
//   - in the empty namespace a connect() to a public address fails at once
//     (ENETUNREACH for IPv4, EADDRNOTAVAIL for IPv6): nothing leaves the
//     host, and the kernel still audits the attempt.
package apttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Update runs tool ("apt" or "apt-get") update as described above, with
// extra arguments (e.g. "-o", PreInvoke(hook)), and returns its output. It
// fails the test if apt fails.
func Update(t testing.TB, tool string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := Command(ctx, t, tool, extra...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s update: %v\n%s", tool, err, out)
	}
	return string(out)
}

// Command is the command Update runs, for a test that starts apt and goes
// on while it runs.
func Command(ctx context.Context, t testing.TB, tool string, extra ...string) *exec.Cmd {
	t.Helper()
	return contained(ctx, t, tool, append([]string{"update"}, extra...))
}

// contained is `unshare -n TOOL -q <private dirs> ARGS...`.
func contained(ctx context.Context, t testing.TB, tool string, args []string) *exec.Cmd {
	t.Helper()
	full := append([]string{"-n", tool, "-q"}, PrivateDirOptions(t)...)
	full = append(full, args...)
	return exec.CommandContext(ctx, "unshare", full...)
}

// PrivateDirOptions makes an empty source list, lists and cache in a
// test's temporary directory and returns the apt options that point apt at
// them: `apt update` with an empty source list would otherwise wipe the
// host's /var/lib/apt/lists.
func PrivateDirOptions(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"lists/partial", "cache/archives/partial", "sources.list.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(dir, "sources.list.d"),
		"-o", "Dir::State::Lists=" + filepath.Join(dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
	}
}

// PreInvoke is the apt option value that adds hook as an update hook.
func PreInvoke(hook string) string { return "APT::Update::Pre-Invoke::=" + hook }

// ConnectHook is a hook whose shell forks bash, which attempts a TCP
// connection to addr:port. The trailing "; true" keeps dash from exec'ing
// bash in its own place (dash execs the last simple command of -c): the
// rule needs the connect to come from a child of the shell. The hook uses
// no double quotes, so it fits an apt.conf string as it is.
func ConnectHook(addr string, port int) string {
	return fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/%s/%d' 2>/dev/null; true", addr, port)
}

// DummyPackage is the name of the package BuildDummy makes.
const DummyPackage = "aptsentinel-test-dummy"

// BuildDummy builds an empty package (no files, no scripts) with
// dpkg-deb and returns its path: something for apt to install so that its
// DPkg:: hooks run. The test that installs it purges it (PurgeDummy).
func BuildDummy(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "pkg")
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: " + DummyPackage + "\nVersion: 1.0\nArchitecture: all\n" +
		"Maintainer: aptsentinel tests <root@localhost>\nDescription: empty package for aptsentinel's tests\n"
	if err := os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, DummyPackage+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// InstallLocal runs `apt install` of the local package deb offline, like
// Update (new network namespace, private lists and cache), with extra
// arguments such as "-o", "DPkg::Pre-Invoke::=HOOK". It purges the package
// at cleanup, also when the test fails.
func InstallLocal(t testing.TB, deb string, extra ...string) string {
	t.Helper()
	t.Cleanup(func() { PurgeDummy(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := contained(ctx, t, "apt", append([]string{"-y", "install", deb}, extra...))
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apt install %s: %v\n%s", deb, err, out)
	}
	return string(out)
}

// PurgeDummy removes the dummy package if it is installed.
func PurgeDummy(t testing.TB) {
	t.Helper()
	if exec.Command("dpkg-query", "-W", DummyPackage).Run() != nil {
		return
	}
	if out, err := exec.Command("dpkg", "--purge", DummyPackage).CombinedOutput(); err != nil {
		t.Errorf("dpkg --purge %s: %v\n%s", DummyPackage, err, out)
	}
}
