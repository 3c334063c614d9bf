package debtest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/rules"
)

// dataEntry is one line of `dpkg-deb -c`.
type dataEntry struct{ mode, owner, path string }

func dataEntries(t *testing.T, deb string) map[string]dataEntry {
	t.Helper()
	entries := map[string]dataEntry{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		path := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		entries[path] = dataEntry{mode: f[0], owner: f[1], path: path}
	}
	return entries
}

func TestDebFiles(t *testing.T) {
	requireDebs(t)
	entries := dataEntries(t, debNew)
	want := map[string]string{
		"/usr/sbin/aptsentinel":                    "-rwxr-xr-x",
		"/lib/systemd/system/aptsentinel.service":  "-rw-r--r--",
		"/etc/aptsentinel/aptsentinel.conf":        "-rw-r--r--",
		"/usr/share/doc/aptsentinel/copyright":     "-rw-r--r--",
		"/usr/share/doc/aptsentinel/changelog.gz":  "-rw-r--r--",
		"/usr/share/man/man8/aptsentinel.8.gz":     "-rw-r--r--",
		"/usr/share/lintian/overrides/aptsentinel": "-rw-r--r--",
		// The shipped rules, for reading (the binary embeds them).
		"/usr/share/aptsentinel/rules/apt_hook_shell_network_connection.toml": "-rw-r--r--",
		"/usr/share/aptsentinel/rules/apt_conf_file_creation.toml":            "-rw-r--r--",
		"/usr/share/aptsentinel/rules/sensor_audit_tampered.toml":             "-rw-r--r--",
		"/usr/share/aptsentinel/rules/sensor_lost_events.toml":                "-rw-r--r--",
	}
	// Every shipped rule file, also those added since the list above.
	shipped, err := rules.ShippedFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name := range shipped {
		want["/usr/share/aptsentinel/rules/"+name] = "-rw-r--r--"
	}
	for path, mode := range want {
		e, ok := entries[path]
		if !ok {
			t.Errorf("%s missing from the package", path)
			continue
		}
		if e.mode != mode {
			t.Errorf("%s: mode %s, want %s", path, e.mode, mode)
		}
	}
	for path, e := range entries {
		if e.owner != "root/root" {
			t.Errorf("%s: owner %s, want root/root", path, e.owner)
		}
		if strings.HasPrefix(e.mode, "d") && e.mode != "drwxr-xr-x" {
			t.Errorf("directory %s: mode %s, want drwxr-xr-x", path, e.mode)
		}
		if _, listed := want[path]; !listed && !strings.HasPrefix(e.mode, "d") {
			t.Errorf("unexpected file %s in the package", path)
		}
	}
}

func TestDebControl(t *testing.T) {
	requireDebs(t)
	want := map[string]string{
		"Package":      "aptsentinel",
		"Version":      versionNew,
		"Architecture": "amd64",
		"Section":      "admin",
		"Priority":     "optional",
		"Homepage":     "https://github.com/aptsentinel/aptsentinel",
	}
	for name, value := range want {
		if got := debField(t, debNew, name); got != value {
			t.Errorf("%s: %q, want %q", name, got, value)
		}
	}
	if m := debField(t, debNew, "Maintainer"); !regexp.MustCompile(`^[^<>]+ <[^<>@ ]+@[^<> ]+>$`).MatchString(m) {
		t.Errorf("Maintainer %q: want \"Name <address>\"", m)
	}
	desc := strings.Split(debField(t, debNew, "Description"), "\n")
	// Debian policy 3.4.1: a synopsis under 80 characters, no trailing
	// full stop, and a long description after it.
	if syn := desc[0]; syn == "" || len(syn) > 79 || strings.HasSuffix(syn, ".") {
		t.Errorf("Description synopsis %q: want 1-79 characters without a final full stop", syn)
	}
	if len(desc) < 4 {
		t.Errorf("Description has %d lines: want a synopsis and a long description", len(desc))
	}
}

func TestDebConffiles(t *testing.T) {
	requireDebs(t)
	dir := t.TempDir()
	run(t, "dpkg-deb", "-e", debNew, dir)
	b, err := os.ReadFile(filepath.Join(dir, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "/etc/aptsentinel/aptsentinel.conf" {
		t.Errorf("conffiles %q, want exactly /etc/aptsentinel/aptsentinel.conf", got)
	}
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(dir, script))
		if err != nil {
			t.Errorf("control archive: %v", err)
			continue
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", script, fi.Mode().Perm())
		}
	}
}

// TestDebCompression checks the archive members: dpkg before 1.21.18
// (jessie through bullseye) cannot read zstd members.
func TestDebCompression(t *testing.T) {
	requireDebs(t)
	members := strings.Fields(run(t, "ar", "t", debNew))
	if len(members) != 3 || members[0] != "debian-binary" {
		t.Fatalf("ar members %q: want debian-binary, control.tar.*, data.tar.*", members)
	}
	for _, m := range members[1:] {
		if ext := filepath.Ext(m); ext != ".gz" && ext != ".xz" {
			t.Errorf("member %s: want gzip or xz compression", m)
		}
	}
}

// TestDebBinary extracts the binary: static (no ELF interpreter, so it runs
// on jessie's glibc as on trixie's) and carrying the package version.
func TestDebBinary(t *testing.T) {
	requireDebs(t)
	dir := t.TempDir()
	run(t, "dpkg-deb", "-x", debNew, dir)
	bin := filepath.Join(dir, "usr", "sbin", "aptsentinel")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter: not a static binary", bin)
		}
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v, want x86-64", f.Machine)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "aptsentinel "+versionNew; got != want {
		t.Errorf("version: %q, want %q", got, want)
	}
}
