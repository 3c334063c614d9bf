package debtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// gitRepo is a scratch repository with commits at fixed dates.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("", "init", "-q")
	return r
}

func (r *gitRepo) git(date string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t.invalid",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) commit(date string) {
	r.t.Helper()
	r.git(date, "commit", "-q", "--allow-empty", "-m", "c")
}

// version runs packaging/version.sh in the repository.
func (r *gitRepo) version(env ...string) (string, error) {
	r.t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "version.sh"))
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(script)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func requireNewer(t *testing.T, newer, older string) {
	t.Helper()
	if err := exec.Command("dpkg", "--compare-versions", newer, "gt", older).Run(); err != nil {
		t.Errorf("dpkg says %q is not newer than %q", newer, older)
	}
}

// TestVersionFromGit builds a history step by step and checks that each
// commit's version is a valid Debian version newer than the one before.
func TestVersionFromGit(t *testing.T) {
	testenv.RequireTool(t, "dpkg")
	r := newGitRepo(t)
	type step struct {
		name    string
		do      func()
		pattern string
	}
	steps := []step{
		{"first commit, no tag", func() { r.commit("2025-01-02T10:00:00Z") }, `^0\.0~git20250102\.1\.[0-9a-f]{7}$`},
		{"second commit the same day", func() { r.commit("2025-01-02T11:00:00Z") }, `^0\.0~git20250102\.2\.[0-9a-f]{7}$`},
		{"next day", func() { r.commit("2025-01-03T09:00:00Z") }, `^0\.0~git20250103\.3\.[0-9a-f]{7}$`},
		{"pre-release tag", func() { r.git("", "tag", "v0.1.0-rc1") }, `^0\.1\.0~rc1$`},
		{"release tag on a new commit", func() { r.commit("2025-01-04T09:00:00Z"); r.git("", "tag", "v0.1.0") }, `^0\.1\.0$`},
		{"commit after the tag", func() { r.commit("2025-01-04T10:00:00Z") }, `^0\.1\.0\+git20250104\.1\.[0-9a-f]{7}$`},
		{"two commits after the tag", func() { r.commit("2025-01-05T10:00:00Z") }, `^0\.1\.0\+git20250105\.2\.[0-9a-f]{7}$`},
		{"next release", func() { r.commit("2025-01-06T10:00:00Z"); r.git("", "tag", "v0.2.0") }, `^0\.2\.0$`},
	}
	prev := ""
	for _, s := range steps {
		s.do()
		v, err := r.version()
		if err != nil {
			t.Fatalf("%s: version.sh: %v", s.name, err)
		}
		if !regexp.MustCompile(s.pattern).MatchString(v) {
			t.Errorf("%s: version %q, want %s", s.name, v, s.pattern)
		}
		if prev != "" {
			requireNewer(t, v, prev)
		}
		prev = v
	}
}

func TestVersionOverride(t *testing.T) {
	r := newGitRepo(t)
	r.commit("2025-01-02T10:00:00Z")
	tests := []struct {
		value string
		ok    bool
	}{
		{"1.2.3", true},
		{"0.0~debtest1", true},
		{"1.0+git20250102.1.abcdef0", true},
		{"1.0-1", false}, // a revision would make the package non-native
		{"v1.0", false},
		{"1.0 2", false},
		{"1.0;rm", false},
	}
	for _, tt := range tests {
		got, err := r.version("APTSENTINEL_VERSION=" + tt.value)
		if tt.ok && (err != nil || got != tt.value) {
			t.Errorf("APTSENTINEL_VERSION=%q: got %q, %v; want it accepted", tt.value, got, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("APTSENTINEL_VERSION=%q: accepted as %q, want it refused", tt.value, got)
		}
	}
}
