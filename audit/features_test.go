package audit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeProc builds a /proc tree with the files feature detection reads.
func fakeProc(t *testing.T, vsyscall32 bool, cmdline string) string {
	t.Helper()
	root := t.TempDir()
	if vsyscall32 {
		if err := os.MkdirAll(filepath.Join(root, "sys/abi"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "sys/abi/vsyscall32"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cmdline"), []byte(cmdline), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestDetectFeatures(t *testing.T) {
	tests := []struct {
		name       string
		release    string
		execveat   error
		vsyscall32 bool
		cmdline    string
		goarch     string
		want       Features
	}{
		{"6.18 full", "6.18.44-fc-v669", unix.ENOENT, true, "quiet\n", "amd64", Features{true, true, true}},
		{"6.8 ia32 off", "6.8.0-45-generic", unix.EBADF, true, "ro ia32_emulation=false\n", "amd64", Features{Execveat: true}},
		{"ia32 param after --", "6.8.0", unix.EBADF, true, "ro -- ia32_emulation=0\n", "amd64", Features{true, true, true}},
		{"4.2", "4.2.0-1-amd64", unix.ENOENT, true, "", "amd64", Features{Execveat: true, Compat32: true}},
		{"3.16 no IA32", "3.16.0-4-amd64", unix.ENOSYS, false, "", "amd64", Features{}},
		{"arm64", "6.1.0", unix.ENOENT, false, "", "arm64", Features{Execveat: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := featureProbe{
				procRoot: fakeProc(t, tt.vsyscall32, tt.cmdline),
				goarch:   tt.goarch,
				release:  func() (string, error) { return tt.release, nil },
				execveat: func() error { return tt.execveat },
			}
			got, err := p.detect()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDetectFeaturesBadRelease(t *testing.T) {
	p := featureProbe{
		procRoot: t.TempDir(),
		release:  func() (string, error) { return "garbage", nil },
		execveat: func() error { return nil },
	}
	if _, err := p.detect(); err == nil {
		t.Error("bad release accepted")
	}
}

func TestParseRelease(t *testing.T) {
	tests := []struct {
		in      string
		want    Release
		wantErr bool
	}{
		{"6.18.44-fc-v669", Release{6, 18}, false},
		{"3.16.0-4-amd64", Release{3, 16}, false},
		{"4.3", Release{4, 3}, false},
		{"5.10rc1", Release{5, 10}, false},
		{"6", Release{}, true},
		{"x.1", Release{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRelease(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: %+v, %v", tt.in, got, err)
		}
	}
	if !(Release{4, 3}).AtLeast(4, 3) || (Release{4, 2}).AtLeast(4, 3) || !(Release{5, 0}).AtLeast(4, 3) {
		t.Error("AtLeast is wrong")
	}
}

// TestDetectFeaturesThisKernel checks the probes on the machine the tests
// run on (a 6.x x86_64 kernel with IA32 emulation per the project's brief).
func TestDetectFeaturesThisKernel(t *testing.T) {
	if err := probeExecveat(); errors.Is(err, unix.ENOSYS) || err == nil {
		t.Errorf("execveat probe: %v, want ENOENT or EBADF on a 3.19+ kernel", err)
	}
	f, err := DetectFeatures()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("features: %+v", f)
	if !f.Execveat {
		t.Error("execveat not detected")
	}
}

func TestCheckHolder(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "4242"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "4242/comm"), []byte("auditd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkHolder(0, root); err != nil {
		t.Errorf("pid 0: %v", err)
	}
	if err := checkHolder(999, root); err != nil {
		t.Errorf("stale pid 999: %v", err)
	}
	err := checkHolder(4242, root)
	var h *HolderError
	if !errors.As(err, &h) || h.PID != 4242 || h.Comm != "auditd" {
		t.Fatalf("live pid 4242: %v", err)
	}
	want := "audit: audit PID is held by pid 4242 (auditd): stop auditd (systemctl stop auditd) or the other audit consumer, then start aptsentinel again"
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
}

func TestIA32Disabled(t *testing.T) {
	tests := map[string]bool{
		"":                          false,
		"ia32_emulation=false":      true,
		"quiet ia32_emulation=0 ro": true,
		"ia32_emulation=Off":        true,
		"ia32_emulation=true":       false,
		"ia32_emulation=1":          false,
		"-- ia32_emulation=false":   false,
		"xia32_emulation=false":     false,
	}
	for in, want := range tests {
		if got := ia32Disabled([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
