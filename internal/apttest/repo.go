package apttest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A local file repository, for tests that install and upgrade a package
// the way a server does (update, install, upgrade; unattended-upgrade),
// with no network: apt reads it through a file: URI.

// RepoOrigin is the Origin and Label of every Repo's Release file, the
// name an unattended-upgrades Origins-Pattern allows ("origin=" + it).
const RepoOrigin = "aptsentinel-test"

// Package is a package for BuildPackage. Files maps absolute paths to
// their content; the paths in Conffiles must be among them (dpkg treats
// them as configuration files). NewsEntry, when set, is written as the
// package's NEWS.Debian.gz entry for Version (apt-listchanges shows news
// of an upgrade).
type Package struct {
	Name, Version string
	Files         map[string]string
	Conffiles     []string
	NewsEntry     string
}

// BuildPackage builds p with dpkg-deb into dir and returns the .deb path.
func BuildPackage(t testing.TB, dir string, p Package) string {
	t.Helper()
	root, err := os.MkdirTemp(dir, p.Name+"-root-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	write := func(path string, data []byte) {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("DEBIAN/control", []byte("Package: "+p.Name+"\nVersion: "+p.Version+"\nArchitecture: all\n"+
		"Maintainer: aptsentinel tests <root@localhost>\nDescription: throwaway package for aptsentinel's tests\n"))
	if len(p.Conffiles) > 0 {
		write("DEBIAN/conffiles", []byte(strings.Join(p.Conffiles, "\n")+"\n"))
	}
	for path, content := range p.Files {
		write(path, []byte(content))
	}
	if p.NewsEntry != "" {
		news := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * %s\n\n -- aptsentinel tests <root@localhost>  %s\n",
			p.Name, p.Version, p.NewsEntry, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC1123Z))
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write([]byte(news)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		write("usr/share/doc/"+p.Name+"/NEWS.Debian.gz", gz.Bytes())
	}
	deb := filepath.Join(dir, p.Name+"_"+p.Version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// Repo is a flat file repository (`deb [trusted=yes] file:DIR ./`) with
// its own apt configuration: private sources, lists and cache, so apt,
// apt-get and unattended-upgrade see this repository only and never touch
// the host's lists.
type Repo struct {
	Dir    string // the repository: the .deb files, Packages, Release
	Config string // the file for APT_CONFIG
}

// NewRepo makes an empty repository and its apt configuration in a
// temporary directory of t. extraConf is appended to the configuration.
func NewRepo(t testing.TB, extraConf string) *Repo {
	t.Helper()
	base := t.TempDir()
	// apt fetches file: URIs as the _apt user: the tree must be readable.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Repo{Dir: filepath.Join(base, "repo"), Config: filepath.Join(base, "apt.conf")}
	for _, d := range []string{"repo", "etc/sources.list.d", "lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := "deb [trusted=yes] file:" + r.Dir + " ./\n"
	if err := os.WriteFile(filepath.Join(base, "etc/sources.list"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// The lock timeout: other tests (and their dpkg) may run beside these
	// ones; apt waits for the dpkg lock instead of failing at once.
	conf := fmt.Sprintf("Dir::Etc::SourceList %q;\nDir::Etc::SourceParts %q;\nDir::State::Lists %q;\nDir::Cache %q;\n"+
		"DPkg::Lock::Timeout \"120\";\n%s",
		filepath.Join(base, "etc/sources.list"), filepath.Join(base, "etc/sources.list.d"),
		filepath.Join(base, "lists"), filepath.Join(base, "cache"), extraConf)
	if err := os.WriteFile(r.Config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// Publish makes debs the repository's only packages: it copies them in,
// writes Packages with dpkg-scanpackages and a Release that names
// RepoOrigin and the index's hash.
func (r *Repo) Publish(t testing.TB, debs ...string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(r.Dir, "*.deb"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, deb := range debs {
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.Dir, filepath.Base(deb)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scan := exec.Command("dpkg-scanpackages", "--multiversion", ".")
	scan.Dir = r.Dir
	var stderr bytes.Buffer
	scan.Stderr = &stderr
	packages, err := scan.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages: %v\n%s", err, stderr.String())
	}
	release := fmt.Sprintf("Origin: %s\nLabel: %s\nSuite: quiet\nCodename: quiet\nDate: %s\nSHA256:\n %x %d Packages\n",
		RepoOrigin, RepoOrigin, time.Now().UTC().Format(time.RFC1123), sha256.Sum256(packages), len(packages))
	for name, data := range map[string][]byte{"Packages": packages, "Release": []byte(release)} {
		if err := os.WriteFile(filepath.Join(r.Dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Command is `unshare -n TOOL ARGS...` with APT_CONFIG pointing at the
// repository's configuration, DEBIAN_FRONTEND=noninteractive and env
// added: in the new network namespace nothing can leave the host.
func (r *Repo) Command(ctx context.Context, env []string, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-n", tool}, args...)...)
	cmd.Env = append(append(os.Environ(), "APT_CONFIG="+r.Config, "DEBIAN_FRONTEND=noninteractive"), env...)
	return cmd
}

// Run runs Command with a timeout of 3 minutes and returns its output; it
// fails the test if the command fails.
func (r *Repo) Run(t testing.TB, env []string, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := r.Command(ctx, env, tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}
