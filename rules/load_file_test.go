package rules

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A rules.d entry that is not a rule file is refused by name, at once: a
// named pipe would block the sensor's start or reload forever, a huge
// file would be read whole.
func TestLoadRefusesWhatIsNotARuleFile(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "not a regular file"},
		{"huge", func(p string) error {
			return os.WriteFile(p, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644)
		}, "larger than a rule file can be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "50-site.toml")
			if err := c.make(path); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Load(LoadConfig{Dirs: []string{dir}})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Load: %v, want an error naming %s: %s", err, path, c.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Load blocked on the file") // the goroutine stays blocked: the test binary ends anyway
			}
		})
	}
}

// A rule file of exactly MaxFileSize bytes is still read.
func TestLoadFileAtTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "max.toml")
	body := "# padding\n"
	if err := os.WriteFile(path, []byte(body+strings.Repeat("#", MaxFileSize-len(body))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readRuleFile(path); err != nil {
		t.Errorf("a file of MaxFileSize bytes: %v", err)
	}
}
